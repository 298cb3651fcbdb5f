#!/usr/bin/env bash
# Installs what is needed, builds, and starts the studio on the embedded default data.
# Without a display it says so and renders the default view headless (Xvfb) to a PNG instead.
# Usage: tools/studio.sh [studio arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh
# The default subject: the phantom, generated once (about 15 s) where the studio looks for it.
PHANTOM_DIR=${SOUL_PHANTOM_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/souldiffuser/phantom}
if [ ! -f "$PHANTOM_DIR/nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5" ]; then
  echo "Generating the phantom subject in $PHANTOM_DIR (once) ..."
  build/bin/souldiffuser phantom --out "$PHANTOM_DIR"
fi
STUDIO=build/bin/souldiffuser-studio
if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  exec "$STUDIO" "$@"
fi
"$STUDIO" "$@" || true   # prints why it cannot open a window and how to run headless
mkdir -p out
echo "Rendering the default views headless (xvfb-run) instead:"
for view in window 3d; do
  xvfb-run -a -s "-screen 0 1600x1200x24" "$STUDIO" --screenshot "out/studio-$view.png" --view "$view" "$@" 2>/dev/null
done
