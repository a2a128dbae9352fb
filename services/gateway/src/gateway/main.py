from bp_common.runner import service_main
from gateway.app import MIGRATIONS, create_gateway_app
from gateway.settings import GatewaySettings


def main() -> None:
    service_main(
        settings_factory=GatewaySettings,
        app_factory=create_gateway_app,
        migrations=MIGRATIONS,
        default_port=8000,
    )


if __name__ == "__main__":
    main()
