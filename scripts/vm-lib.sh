# Helpers of the QEMU rig (sourced by scripts/vm-boot and tests/vm/run):
# which Debian kernel to boot, what the host lacks to boot it, and the
# module build against that kernel's headers. The VM boots a packaged
# kernel because this host cannot load modules and its cgroups are hybrid;
# the packaged one has BTF, CFS bandwidth and a pure cgroup v2 tree.

# Version of the newest packaged kernel that has both an image in /boot and
# a build tree (its headers) to compile the module against; empty if none.
vm_kernel_version() {
	local img ver
	for img in $(ls /boot/vmlinuz-* 2>/dev/null | sort -rV); do
		ver=${img#/boot/vmlinuz-}
		if [ -r "$img" ] && [ -e "/lib/modules/$ver/build/Makefile" ]; then
			echo "$ver"
			return 0
		fi
	done
	return 1
}

# Prints what the host lacks to boot the VM, in one line, or nothing.
vm_missing() {
	local miss=()
	command -v qemu-system-x86_64 >/dev/null 2>&1 || miss+=("qemu-system-x86_64 (apt-get install qemu-system-x86)")
	if ! vm_kernel_version >/dev/null; then
		if ls /boot/vmlinuz-* >/dev/null 2>&1; then
			miss+=("the headers of a kernel in /boot (apt-get install linux-headers-amd64)")
		else
			miss+=("a packaged kernel in /boot (apt-get install linux-image-amd64 linux-headers-amd64)")
		fi
	fi
	if [ ! -x /bin/busybox ] || readelf -l /bin/busybox 2>/dev/null | grep -q 'program interpreter'; then
		miss+=("a static busybox (apt-get install busybox-static)")
	fi
	command -v cpio >/dev/null 2>&1 || miss+=("cpio (apt-get install cpio)")
	local IFS=';'
	[ ${#miss[@]} -eq 0 ] || echo "${miss[*]}" | sed 's/;/, /g'
}

# Builds triage.ko against kernel VERSION from the repository root REPO;
# the build's output goes to LOG. Fails when there is no Kbuild yet.
vm_build_kmod() { # REPO VERSION LOG
	[ -e "$1/Kbuild" ] || return 2
	make --no-print-directory -C "$1" kmod KDIR="/lib/modules/$2/build" >"$3" 2>&1
}

# Path of the module the last build made under REPO, as Kbuild's
# modules.order names it (kmod/triage.ko with obj-m := kmod/triage.o).
vm_kmod_path() { # REPO
	local ko
	ko=$(sed -n 's/\.o$/.ko/; /triage\.ko$/p' "$1/modules.order" 2>/dev/null | tail -n 1)
	[ -n "$ko" ] && [ -e "$1/$ko" ] && { echo "$1/$ko"; return 0; }
	for ko in "$1/kmod/triage.ko" "$1/triage.ko"; do
		[ -e "$ko" ] && { echo "$ko"; return 0; }
	done
	return 1
}
