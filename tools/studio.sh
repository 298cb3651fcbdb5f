#!/usr/bin/env bash
# Installs what is needed, builds, and starts the studio on the embedded default data.
# Without a display it says so and renders the default view headless (Xvfb) to a PNG instead.
# Usage: tools/studio.sh [studio arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh
# The default subject: the phantom, generated once into the user's data dir and prepared once for
# the shipped model (about a minute; what the studio does itself on first start).
build/bin/souldiffuser default-subject
mkdir -p out
echo "Reconstructing test trials 0-3 with the shipped model into out/reconstruction ..."
build/bin/souldiffuser reconstruct --model models/phantom-small --trials 0-3 --samples 2 \
  --contributions --out out/reconstruction >/dev/null
for trial in out/reconstruction/trial-*; do
  echo "  $trial: \"$(cat "$trial/caption.txt")\" (stimulus.png, reconstruction-0.png, -1.png, attribution-*.nii.gz)"
done
STUDIO=build/bin/souldiffuser-studio
if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  exec "$STUDIO" "$@"
fi
"$STUDIO" "$@" || true   # prints why it cannot open a window and how to run headless
echo "Rendering the default views headless (xvfb-run) instead (log: out/studio-render.log):"
: > out/studio-render.log
# Runs one headless render; on failure prints the studio's own messages, which name what went wrong.
render() {
  local png=$1; shift
  if xvfb-run -a -s "-screen 0 1600x1200x24" "$STUDIO" --screenshot "$png" "$@" >>out/studio-render.log 2>&1; then
    echo "  $png"
  else
    local rc=$?
    echo "The headless render of $png failed (exit $rc); the studio said:" >&2
    tail -n 20 out/studio-render.log >&2
    exit "$rc"
  fi
}
# The window with test trial 0 selected and reconstructed (the workbench filled in), then the 3D view.
render out/studio-window.png --view window --trial 0 --size 1500x1150 "$@"
render out/studio-3d.png --view 3d "$@"
