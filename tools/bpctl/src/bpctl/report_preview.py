"""The demo meeting's summary for readers of the docs: `make report-preview` loads the Istanbul
story into a throwaway embedded platform, writes the meeting's PDF and its first page as a PNG
(pdftoppm, from Debian's poppler-utils)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bp_common.testing import eventually, running
from bpctl.demo import load_demo
from bpctl.embedded import EmbeddedPlatform

KEY = "bp_admin_report-preview"


async def demo_summary_pdf() -> bytes:
    headers = {"Authorization": f"Bearer {KEY}"}
    # A preview waits for its PDF however busy the machine is.
    os.environ.setdefault("REPORT_TIMEOUT_S", "120")
    with tempfile.TemporaryDirectory() as var_dir:
        platform = EmbeddedPlatform(
            Path(var_dir), KEY, load_demo_data=False, gateway_options={"upstream_timeout_s": 120}
        )
        async with running(platform.gateway) as client:
            demo = await load_demo(client, KEY)
            meeting = f"/v1/meetings/{demo.meeting_id}"

            async def results_arrived() -> bool:
                response = await client.get(f"{meeting}/results-snapshot", headers=headers)
                return response.status_code == 200

            await eventually(results_arrived, within_s=30)
            response = await client.get(f"{meeting}/report?format=pdf", headers=headers)
            response.raise_for_status()
            return response.content


def main(stem: str) -> None:
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        sys.exit("pdftoppm not found: bash deploy/report-libs.sh --preview")
    pdf = Path(f"{stem}.pdf")
    pdf.write_bytes(asyncio.run(demo_summary_pdf()))
    subprocess.run(
        [pdftoppm, "-png", "-r", "90", "-f", "1", "-l", "1", "-singlefile", str(pdf), stem],
        check=True,
    )
    print(f"{pdf} and {stem}.png written")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "som-istanbul-2019-summary")
