#!/bin/sh
# make-man-page.sh HELP2MAN PROGRAM OUT.1.gz — a man page from the program's --help and --version,
# with one section per subcommand for the command line (CLI11 prints those per subcommand).
set -eu
help2man=$1 program=$2 out=$3
name=$(basename "$program")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "$name" = souldiffuser ]; then
  summary="reconstruct seen images from 3D fMRI volumes (SoulDiffuser's engine)"
  {
    echo "[COMMANDS]"
    "$program" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && NF { print $1 }' | while read -r command; do
      echo ".SS $command"
      echo ".nf"
      "$program" "$command" --help | sed "s#$program#$name#g" | sed 's/\\/\\e/g; s/^\./\\\&./'
      echo ".fi"
    done
    echo "[FILES]"
    echo "The shipped model and configs are found under \$SOUL_MODEL_DIR, the user data dir"
    echo "(\$XDG_DATA_HOME/souldiffuser) and /usr/share/souldiffuser, in this order;"
    echo ".B souldiffuser env"
    echo "prints where each was found."
  } > "$work/extra.h2m"
else
  summary="SoulDiffuser Studio, the desktop application: fMRI volumes, ROI masks and reconstructions"
  {
    echo "[FILES]"
    echo "On first start the studio makes the default subject (the phantom and its preparation for"
    echo "the shipped model) in \$XDG_DATA_HOME/souldiffuser (default ~/.local/share/souldiffuser)."
  } > "$work/extra.h2m"
fi
# help2man runs the studio's --help without a display (it prints help without opening a window).
# The version string alone, so the page is named after the program, not its window title.
version=$("$program" --version | awk 'NR == 1 { print $NF }')
"$help2man" --no-info --no-discard-stderr --version-string "$version" --name "$summary" --include "$work/extra.h2m" --output "$work/$name.1" "$program"
gzip -9nc "$work/$name.1" > "$out"
