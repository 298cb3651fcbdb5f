#!/usr/bin/env bash
# Regenerates the images in docs/images from the project itself (headless, under Xvfb): the
# studio's views on the default phantom subject, and the phantom figure.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/build.sh >/dev/null
PHANTOM=build/docs-phantom
[ -f "$PHANTOM/nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5" ] || build/bin/souldiffuser phantom --out "$PHANTOM" >/dev/null
export SOUL_PHANTOM_DIR=$PHANTOM
STUDIO=build/bin/souldiffuser-studio
shoot() { xvfb-run -a -s "-screen 0 1600x1200x24" "$STUDIO" --screenshot "$@" 2>/dev/null; }
shoot docs/images/studio-default.png --view window --size 1280x860
shoot docs/images/studio-3d.png --view 3d --scale 2 --size 1280x860
shoot docs/images/studio-axial.png --view axial --size 1280x860
build/bin/souldiffuser-figures phantom "$PHANTOM" docs/images/phantom.png 2>/dev/null
