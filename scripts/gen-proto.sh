#!/usr/bin/env bash
# Regenerates src/gen/ from proto/ with buf and ts-proto, both from node_modules: no network.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf src/gen
npx buf lint proto
npx buf generate proto --template proto/buf.gen.yaml
# No formatting: biome.json excludes src/gen (biome would fail with "no files were processed").
echo "generated: $(find src/gen -name '*.ts' | wc -l) files in src/gen"
