# The one place where the Debian kernel we build against is pinned.
# scripts/fetch.sh falls back to the newest linux-source-6.12 in the
# archive (with a loud warning) when this version has left it.
KERNEL_DEB_VERSION = 6.12.117-1~deb12u1
KERNEL_RELEASE = 6.12.117+deb12-amd64
