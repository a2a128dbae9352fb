from bp_common.runner import service_main
from indicators_api.app import MIGRATIONS, create_app
from indicators_api.settings import IndicatorsSettings


def main() -> None:
    service_main(
        settings_factory=IndicatorsSettings,
        app_factory=create_app,
        migrations=MIGRATIONS,
        default_port=8003,
    )


if __name__ == "__main__":
    main()
