# The one place where the Debian packages we build from are pinned
# (scripts/fetch.sh reads it and records what it fetched in
# build/cache/versions.env). fetch.sh falls back to the newest
# KERNEL_SOURCE_PKG in the archive (with a loud warning) when this
# version has left it.
KERNEL_SOURCE_PKG = linux-source-6.12
KERNEL_DEB_VERSION = 6.12.117-1~deb12u1
KERNEL_RELEASE = 6.12.117+deb12-amd64
# What the emulated machine's CD holds besides the kernel: the archive's
# current version of each.
CD_PACKAGES = busybox-static isolinux syslinux-common
