#!/usr/bin/env bash
# Builds the Debian package of Sluice with dpkg-deb from a built binary:
#   packaging/build-deb.sh [BINARY] [OUT_DIR]
# BINARY defaults to target/release/sluice (run `cargo build --release` first); OUT_DIR to
# target/debian. Prints the path of the .deb. Install with `apt install ./sluice_*.deb`: it
# creates the `sluice` user, installs the unit and /etc/sluice/sluice.toml, and starts the
# service.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
bin="${1:-$root/target/release/sluice}"
out="${2:-$root/target/debian}"
[ -x "$bin" ] || { echo "build-deb: no executable at $bin (cargo build --release)" >&2; exit 1; }

version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)"
arch="$(dpkg --print-architecture)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

install -D -m 0755 "$bin" "$stage/usr/bin/sluice"
install -D -m 0644 "$here/sluice.service" "$stage/lib/systemd/system/sluice.service"
install -D -m 0644 "$here/sluice.toml" "$stage/etc/sluice/sluice.toml"
install -d "$stage/usr/share/man/man1" "$stage/usr/share/bash-completion/completions" \
    "$stage/usr/share/zsh/vendor-completions" "$stage/usr/share/fish/vendor_completions.d" \
    "$stage/usr/share/doc/sluice"
"$bin" manpages --out "$stage/usr/share/man/man1" >/dev/null
gzip -9n "$stage"/usr/share/man/man1/*.1
"$bin" completions bash >"$stage/usr/share/bash-completion/completions/sluice"
"$bin" completions zsh >"$stage/usr/share/zsh/vendor-completions/_sluice"
"$bin" completions fish >"$stage/usr/share/fish/vendor_completions.d/sluice.fish"
install -m 0644 "$root/README.md" "$stage/usr/share/doc/sluice/README.md"
install -m 0644 "$root/docs/clients.md" "$stage/usr/share/doc/sluice/clients.md"

install -d "$stage/DEBIAN"
for f in postinst prerm postrm; do install -m 0755 "$here/debian/$f" "$stage/DEBIAN/$f"; done
echo "/etc/sluice/sluice.toml" >"$stage/DEBIAN/conffiles"
size="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" "$here/debian/control" >"$stage/DEBIAN/control"

mkdir -p "$out"
deb="$out/sluice_${version}_${arch}.deb"
# xz for releases; the test suite packs a debug binary and asks for none (time, not size).
dpkg-deb --root-owner-group "-Z${SLUICE_DEB_COMPRESSION:-xz}" --build "$stage" "$deb" >/dev/null
echo "$deb"
