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
# With the shipped model's session (the studio makes the subject's preparation on first start):
# test trial 3 with the early stream off and the guided tour, then its stream contributions for position.
shoot docs/images/studio-workbench.png --view window --size 1500x1150 --trial 3 --streams-off early --tab tour
shoot docs/images/studio-contributions.png --view window --size 1500x1150 --trial 3 --contributions position --tab contributions
# A lightbox figure at 120 mm and 150 DPI (the session it writes beside it names this machine's
# paths, so it is not kept).
xvfb-run -a -s "-screen 0 1600x1200x24" "$STUDIO" --trial 0 --figure docs/images/studio-lightbox.png --width-mm 120 --dpi 150 \
  --size 1280x860 >/dev/null 2>&1
rm -f docs/images/studio-lightbox.png.session.json
build/bin/souldiffuser-figures phantom "$PHANTOM" docs/images/phantom.png 2>/dev/null
