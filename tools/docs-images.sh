#!/usr/bin/env bash
# Regenerates the screenshots in docs/images from the studio itself (headless, under Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh >/dev/null
STUDIO=build/bin/souldiffuser-studio
shoot() { xvfb-run -a -s "-screen 0 1600x1200x24" "$STUDIO" --screenshot "$@" 2>/dev/null; }
shoot docs/images/studio-default.png --view window --size 1280x860
shoot docs/images/studio-3d.png --view 3d --scale 2 --size 1280x860
shoot docs/images/studio-axial.png --view axial --size 1280x860
