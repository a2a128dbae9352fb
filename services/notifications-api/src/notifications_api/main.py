from bp_common.runner import service_main
from notifications_api.app import MIGRATIONS, create_app
from notifications_api.settings import NotificationsSettings


def main() -> None:
    service_main(
        settings_factory=NotificationsSettings,
        app_factory=create_app,
        migrations=MIGRATIONS,
        default_port=8004,
    )


if __name__ == "__main__":
    main()
