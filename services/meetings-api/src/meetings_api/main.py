from bp_common.runner import service_main
from meetings_api.app import MIGRATIONS, create_app
from meetings_api.settings import MeetingsSettings


def main() -> None:
    service_main(
        settings_factory=MeetingsSettings,
        app_factory=create_app,
        migrations=MIGRATIONS,
        default_port=8001,
    )


if __name__ == "__main__":
    main()
