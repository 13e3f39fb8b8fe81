# The one place where the Debian packages we build from are pinned.
# scripts/fetch.sh reads it, fetches through an apt configuration of its
# own (build/KERNEL/apt: these suites, not the machine's sources) and
# records what it fetched in build/KERNEL/cache/versions.env, which every
# later stage reads. It falls back to the newest KERNEL_SOURCE_PKG in the
# archive (with a loud warning) when the pinned version has left it.
#
# KERNEL (make KERNEL=name ...) picks the kernel to build for and test
# on; each has, under its name:
#   _SUITES       the Debian suites its packages come from
#   _SOURCE_PKG   the kernel source package
#   _DEB_VERSION  its version, also the image's and the headers'
#   _RELEASE      the kernel release (uname -r) the modules are for
#   _IMAGE_PKGS   the packages of its image (vmlinuz, config, stock
#                 modules), unpacked together; @REL@ is the release
#   _SERIES       the directory of the series for its base
#   _CMDLINE      what the emulated machine's kernel needs on its command
#                 line besides vm/isolinux.cfg's (may be empty)
#   _BUILD_IN     where modules are built: "host", or a Debian suite for a
#                 chroot of that suite (build/chroot/SUITE), so that they
#                 are built with the compiler Debian built the kernel with
#   _CHECK        what make check runs for it after its build: make
#                 targets (scripts/check.py's stage kinds: vm-test,
#                 stock, l1-linux, harness-check, run, unit, fuzz,
#                 coverage, lint, deb-test, series-sync), as much as
#                 fits into CI's 90 minutes
#   _CHECK_FULL   what make check-full runs for it besides (series-check)
#
# Adding a kernel: a block below, its name in KERNELS, and its series in
# patches/BASE/ (Documentation/kernels.md).
KERNELS = 6.12-deb12 7.3-deb13 6.12-deb13
DEFAULT_KERNEL = 6.12-deb12
# The canonical series, and its backport (make series-sync: the two differ
# only as patches/series-sync.txt records).
SERIES_CANONICAL = patches/7.3
SERIES_BACKPORT = patches/6.12
DEBIAN_MIRROR = http://deb.debian.org/debian
DEBIAN_SECURITY_MIRROR = http://deb.debian.org/debian-security

# Debian 12 (bookworm): 6.12 from bookworm-security, built with gcc-12.
6.12-deb12_SUITES = bookworm bookworm-security
6.12-deb12_SOURCE_PKG = linux-source-6.12
6.12-deb12_DEB_VERSION = 6.12.117-1~deb12u1
6.12-deb12_RELEASE = 6.12.117+deb12-amd64
6.12-deb12_IMAGE_PKGS = linux-image-@REL@-unsigned
6.12-deb12_SERIES = patches/6.12
6.12-deb12_CMDLINE =
6.12-deb12_BUILD_IN = host
6.12-deb12_CHECK = vm-test stock l1-linux harness-check unit fuzz coverage lint deb-test series-sync
6.12-deb12_CHECK_FULL = series-check

# Debian 13 (trixie): 6.12 built with gcc-14 against trixie's glibc.
6.12-deb13_SUITES = trixie trixie-security
6.12-deb13_SOURCE_PKG = linux-source-6.12
6.12-deb13_DEB_VERSION = 6.12.117-1
6.12-deb13_RELEASE = 6.12.117+deb13-amd64
6.12-deb13_IMAGE_PKGS = linux-image-@REL@-unsigned
6.12-deb13_SERIES = patches/6.12
6.12-deb13_CMDLINE =
6.12-deb13_BUILD_IN = trixie
# Its modules built with gcc-14 and booted under its own kernel.
6.12-deb13_CHECK = run
6.12-deb13_CHECK_FULL =

# Debian 13's backport of 7.3 (upstream's current base), gcc-14. Its
# image comes in pieces: config in linux-base, vmlinuz in
# linux-binary-unsigned, the stock modules in linux-modules. Several
# nested selftests were renamed upstream (vm/tests.cfg's name.7.3-deb13).
7.3-deb13_SUITES = trixie trixie-backports trixie-security
7.3-deb13_SOURCE_PKG = linux-source-7.3
7.3-deb13_DEB_VERSION = 7.3.4-1~bpo13+1
7.3-deb13_RELEASE = 7.3.4+deb13-amd64
7.3-deb13_IMAGE_PKGS = linux-base-@REL@ linux-binary-unsigned-@REL@ linux-modules-@REL@
7.3-deb13_SERIES = patches/7.3
7.3-deb13_CMDLINE =
7.3-deb13_BUILD_IN = trixie
7.3-deb13_CHECK = vm-test stock unit lint deb-test
7.3-deb13_CHECK_FULL = series-check

# The emulated Intel machine: Bochs from Debian's source package, with
# our patches (patches/bochs/, in order), built by make emulator into
# build/emulator (scripts/emulator.sh). Debian does not serve this
# version's .dsc: the tarballs' hashes are pinned here instead. The BIOS
# and VGA BIOS are the host's bochsbios and vgabios packages.
EMULATOR_SUITE = trixie
EMULATOR_VERSION = 3.0+dfsg-1
EMULATOR_SHA256 = \
	78f6c73d4a6472d5130a87ab9dc306d02c7c71ed8e25b3a8ef642e2a7acd282b bochs_3.0+dfsg.orig.tar.xz \
	c68fe1162aa485249467ec93707ccbf5d039b00d12815899fc2c819ec16d00df bochs_3.0+dfsg-1.debian.tar.xz
EMULATOR_PATCHES = patches/bochs
# No GUI (the serial port is the console); VMX with EPT and VPID
# (level 2), SVM, SMP and the instruction sets of the tigerlake model.
EMULATOR_CONFIGURE = --with-nogui --disable-plugins --enable-x86-64 \
	--enable-smp --enable-cpu-level=6 --enable-vmx=2 --enable-svm \
	--enable-avx --enable-evex --enable-cet --enable-protection-keys \
	--enable-memtype --enable-pci --enable-cdrom --enable-all-optimizations

# What the emulated machine's CD holds besides the kernel: the current
# version of each in the kernel's suites.
CD_PACKAGES = busybox-static isolinux syslinux-common
