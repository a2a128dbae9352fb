#!/usr/bin/env bash
# The Debian packages meetings-api's reports need at run time: WeasyPrint lays PDFs out with
# Pango, embeds the glyphs used with HarfBuzz-subset, and needs at least one font. `--preview`
# adds poppler-utils (pdftoppm, pdftotext) to look at a generated PDF. Installs what is missing
# with apt-get (as root), so a fresh machine gets them from `make install`.
set -euo pipefail

packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)
[[ "${1:-}" == "--preview" ]] && packages+=(poppler-utils)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
((${#missing[@]})) || exit 0

if [[ "$(id -u)" != 0 ]]; then
  echo "report-libs: missing Debian packages ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "report-libs: installing ${missing[*]} from Debian packages" >&2
{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >&2 \
  || { echo "report-libs: apt-get install ${missing[*]} failed" >&2; exit 1; }
