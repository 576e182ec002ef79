#!/bin/bash
# Builds the Debian package remus-netbuf_VERSION_all.deb from a staging tree with dpkg-deb (what `make deb` and the
# src module's package phase run, README "Installing on a dom0"):
#
#   src/deb/build-deb.sh SERVER_JAR PLUGIN_JAR MAVEN_VERSION OUT_DIR
#
# VERSION is MAVEN_VERSION with "-" turned into "~" (0.1.0-SNAPSHOT -> 0.1.0~SNAPSHOT, which sorts before 0.1.0).
# Prints the path of the .deb on its last line.
set -euo pipefail

[ $# -eq 4 ] || { echo "usage: $0 SERVER_JAR PLUGIN_JAR MAVEN_VERSION OUT_DIR" >&2; exit 2; }
server_jar=$1 plugin_jar=$2 maven_version=$3 out=$4
here=$(cd "$(dirname "$0")" && pwd)
release_script=$here/../uml/release-held-output.sh
for f in "$server_jar" "$plugin_jar" "$release_script"; do
  [ -f "$f" ] || { echo "build-deb: no $f" >&2; exit 1; }
done
command -v dpkg-deb >/dev/null || { echo "build-deb: dpkg-deb is missing (Debian package dpkg)" >&2; exit 1; }

package=remus-netbuf
version=${maven_version//-/\~}
mkdir -p "$out"
out=$(cd "$out" && pwd)
root=$out/deb-root
rm -rf "$root"

# the tree, with the modes dpkg installs (dpkg-deb --root-owner-group makes every file root's)
install -d -m 0755 "$root/DEBIAN" "$root/usr/share/$package" "$root/usr/libexec/$package" "$root/etc/$package" \
  "$root/lib/systemd/system" "$root/usr/share/doc/$package"
install -m 0644 "$server_jar" "$root/usr/share/$package/netbuf-server.jar"
install -m 0644 "$plugin_jar" "$root/usr/share/$package/netbuf-plugin.jar"
install -m 0755 "$here/java" "$root/usr/libexec/$package/java"
install -m 0755 "$release_script" "$root/usr/libexec/$package/release-held-output"
install -m 0644 "$here/application.yml" "$root/etc/$package/application.yml"
install -m 0644 "$here/remus-netbuf.service" "$root/lib/systemd/system/remus-netbuf.service"
install -m 0644 "$here/copyright" "$root/usr/share/doc/$package/copyright"
gzip -9n <"$here/../../README.md" >"$root/usr/share/doc/$package/README.md.gz"
chmod 0644 "$root/usr/share/doc/$package/README.md.gz"

# the changelog of a native package: one entry for this build, dated by the last commit when there is one
date=$(git -C "$here" log -1 --format=%cD 2>/dev/null || date -R)
sed -e "s/@VERSION@/$version/" -e "s/@DATE@/$date/" "$here/changelog.in" | gzip -9n \
  >"$root/usr/share/doc/$package/changelog.gz"
chmod 0644 "$root/usr/share/doc/$package/changelog.gz"

for s in postinst prerm postrm; do
  install -m 0755 "$here/$s" "$root/DEBIAN/$s"
done
(cd "$root" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"
echo "/etc/$package/application.yml" >"$root/DEBIAN/conffiles"
chmod 0644 "$root/DEBIAN/conffiles"
installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@INSTALLED_SIZE@/$installed_size/" "$here/control.in" >"$root/DEBIAN/control"
chmod 0644 "$root/DEBIAN/control"
find "$root" -type d -exec chmod 0755 {} +

deb=$out/${package}_${version}_all.deb
rm -f "$out/${package}"_*_all.deb
# the jars are zip files already: gzip at its fastest keeps the build short
dpkg-deb --root-owner-group -Zgzip -z1 --build "$root" "$deb" >&2
echo "$deb"
