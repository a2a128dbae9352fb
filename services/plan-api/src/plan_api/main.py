from bp_common.runner import service_main
from plan_api.app import MIGRATIONS, create_app
from plan_api.settings import PlanSettings


def main() -> None:
    service_main(
        settings_factory=PlanSettings,
        app_factory=create_app,
        migrations=MIGRATIONS,
        default_port=8002,
    )


if __name__ == "__main__":
    main()
