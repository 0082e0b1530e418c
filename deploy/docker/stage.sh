#!/bin/sh
# Steps the agent's and the receiver's Dockerfiles share, run inside their build stages (/src holds
# the build context). They name no workspace, so that workspaces added later need no Dockerfile change.
#
#   stage.sh manifests   keep only every package.json and the lockfile (what `npm ci` needs), so that
#                        the install layers stay cached until a dependency changes
#   stage.sh packages    copy the shared workspaces (packages/*): package.json and dist, to /out/packages
set -eu
case "${1:-}" in
  manifests)
    find . -type f ! -name package.json ! -name package-lock.json -delete
    find . -depth -type d -empty -delete
    ;;
  packages)
    mkdir -p /out/packages
    for dir in packages/*/; do
      [ -f "$dir/package.json" ] || continue
      mkdir -p "/out/$dir"
      cp "$dir/package.json" "/out/$dir"
      if [ -d "$dir/dist" ]; then cp -r "$dir/dist" "/out/$dir"; fi
    done
    ;;
  *)
    echo "usage: $0 manifests|packages" >&2
    exit 2
    ;;
esac
