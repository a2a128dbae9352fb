"""The Istanbul 2019 story replayed through the gateway in the embedded mode (one process,
SQLite, in-process bus); tests/integration has the same story over PostgreSQL and Kafka."""

from pathlib import Path

from bp_common.testing import running
from bpctl.demo import load_demo
from bpctl.embedded import EmbeddedPlatform
from tests.story import check_story

KEY = "bp_admin_story-key"


async def test_the_story_works_across_the_services(tmp_path: Path) -> None:
    platform = EmbeddedPlatform(tmp_path, KEY, load_demo_data=False)
    async with running(platform.gateway) as client:
        demo = await load_demo(client, KEY)
        await check_story(client, KEY, demo)
