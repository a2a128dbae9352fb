from __future__ import annotations

import argparse

import uvicorn

from bp_common.logging import configure_logging
from gateway.app import create_gateway_app
from gateway.settings import GatewaySettings


def main() -> None:
    parser = argparse.ArgumentParser(description="Budapest Process gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    settings = GatewaySettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    uvicorn.run(
        create_gateway_app(settings),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
