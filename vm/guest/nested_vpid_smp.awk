# The replay of nested_vpid_smp: the trace of one run of
# nested_vpid_smp_test checked against the rules of nested VPID on several
# pCPUs.  Run by nested_vpid_smp in the guest, and on the host against
# recorded traces by tests/trace (make unit):
#
#   awk -v mode=migrate|byvpid|conc -v overrun=N -v ept=Y|N \
#       -f nested_vpid_smp.awk TRACE
#
# TRACE is /sys/kernel/debug/tracing/trace with the events kvm_entry,
# kvm_nested_vpid_enter, kvm_nested_invvpid, kvm_nested_vpid_reset,
# kvm_vmx_invvpid and kvm_nested_vmexit_inject on; mode is the run
# (nested_vpid_smp says what each does), overrun the events lost, ept
# kvm_intel's ept.  Prints "# " lines (violations, a summary), then one
# line per check, "PASS|FAIL|SKIP CHECK WHY", which nested_vpid_smp turns
# into TAP cases.
#
# Checked in the trace of each run (vCPUs are their threads; the nested
# events name a vCPU by its vpid01):
#   tag_flushed_on_its_cpu  a tag (re)assigned on nested VM-Enter is
#       flushed before the next VM-entry, on the pCPU of that VM-entry;
#   flush_on_new_cpu (ept=0)  when L2 runs on another pCPU than last time
#       (vmcs02 moved), its VPID was flushed on the new pCPU since;
#   bug2026_invvpid_on_vmcs02_cpu  an individual-address INVVPID of L1 for a
#       mapped VPID flushes the tag's address only when vmcs02 last ran on
#       the pCPU that emulates it; else it drops the mapping (2026:
#       "INVVPID is emulated on vmcs02's pCPU or deferred"); both happen;
#   every_tag_flushed (byvpid)  no all-context INVVPID, and each time L2
#       runs on a new pCPU, vpid01 and every live tag of the vCPU were
#       flushed there with single-context INVVPID (two tags or more at
#       least once);
#   no_shared_tag  no tag is held by two vCPUs at once (a tag goes back
#       only when its vCPU releases its tags), nor is it another live
#       vCPU's vpid01, and a hit reuses its vpid12's tag;
#   trace_complete  no event lost, and the situation happened.

function val(key,    i) {
	for (i = 1; i < NF; i++)
		if ($i == key)
			return $(i + 1)
	return ""
}
function bad(check, msg) {
	if (nbad[check]++ < 5)
		printf "# line %d: %s: %s\n", NR, check, msg
}
# Every mapping of vCPU v1 forgotten; with release, its tags go back too.
function forget(v1, release,    k, p) {
	for (k in map) {
		split(k, p, SUBSEP)
		if (p[1] == v1)
			delete map[k]
	}
	if (release)
		for (k in holder)
			if (holder[k] == v1)
				delete holder[k]
}
# Was "type:vpid:cpu" (or an all-context flush on cpu) done since the
# last VM-entry of this thread (flushed) or its last L2 entry (since2)?
function did(list, type, vpid, c) {
	return index(list, " 2:0:" c " ") || index(list, " " type ":" vpid ":" c " ")
}
/^#/ { next }
{
	pid = $1
	cpu = ""
	for (i = 2; i <= NF; i++)
		if ($i ~ /^\[[0-9]+\]$/) {
			cpu = substr($i, 2, length($i) - 2) + 0
			break
		}
}
/ kvm_nested_vpid_enter: / {
	v1 = val("vpid01"); v12 = val("vpid12"); v02 = val("vpid02"); res = $NF
	nenter[res]++
	vcpu_of[pid] = v1
	if (!(v1 in first))
		first[v1] = NR
	last[v1] = NR
	in_l2[pid] = 1
	cur[pid] = v02 ? v02 : v1
	if (v1 == 0)
		next
	if (res == "hit") {
		if (!((v1, v12) in map) || map[v1, v12] != v02)
			bad("no_shared_tag", "vCPU " v1 ": hit of vpid12 " v12 \
			    " ran tag " v02)
		next
	}
	if (res != "miss" && res != "evict")
		next
	for (k in map)
		if (map[k] == v02) {
			split(k, p, SUBSEP)
			if (p[1] != v1)
				bad("no_shared_tag", "vCPU " v1 " took tag " v02 \
				    " that vCPU " p[1] " maps for vpid12 " p[2])
			delete map[k]
		}
	if ((v02 in holder) && holder[v02] != v1)
		bad("no_shared_tag", "vCPU " v1 " took tag " v02 " that vCPU " \
		    holder[v02] " holds")
	holder[v02] = v1
	map[v1, v12] = v02
	taken[++ntaken] = v02 " " v1 " " NR
	need[pid] = v02
	next
}
/ kvm_nested_vmexit_inject: / {
	in_l2[pid] = 0
	next
}
/ kvm_nested_invvpid: / {
	v1 = val("vpid01"); type = val("type"); v12 = val("vpid12")
	v02 = val("vpid02"); addr = val("addr"); act = $NF
	last[v1] = NR
	ninv[act]++
	if (type == 0 && v02 != 0) {
		if (!(pid in vmcs02_cpu)) {
			bad("bug2026_invvpid_on_vmcs02_cpu", "vCPU " v1 ": a tag before L2 ran")
		} else if (vmcs02_cpu[pid] != cpu) {
			ndefer++
			if (act != "drop")
				bad("bug2026_invvpid_on_vmcs02_cpu", "vCPU " v1 " on CPU " \
				    cpu ", vmcs02 last ran on CPU " vmcs02_cpu[pid] \
				    ": INVVPID of vpid12 " v12 " did " act \
				    ", not drop")
		} else {
			nnow++
			if (act != "flush" ||
			    !(index(flushed[pid], " 0:" v02 ":" cpu ":" addr " ") ||
			      did(flushed[pid], 1, v02, cpu)))
				bad("bug2026_invvpid_on_vmcs02_cpu", "vCPU " v1 " on CPU " \
				    cpu ", where vmcs02 last ran: INVVPID of vpid12 " \
				    v12 " did " act ", flushed:" flushed[pid])
		}
	}
	if (act == "drop-all")
		forget(v1, 0)
	else if (act == "drop")
		delete map[v1, v12]
	next
}
/ kvm_nested_vpid_reset: / {
	v1 = val("vpid01")
	last[v1] = NR
	forget(v1, $NF == "release")
	next
}
/ kvm_vmx_invvpid: / {
	type = val("type"); vpid = val("vpid"); addr = val("addr")
	if (type == 2)
		nglobal++
	tok = type ":" vpid ":" cpu
	flushed[pid] = flushed[pid] " " tok ":" addr " " tok " "
	since2[pid] = since2[pid] " " tok " "
	if ((pid in need) && (type == 2 || (type == 1 && vpid == need[pid]))) {
		need_cpu[pid] = cpu
		delete need[pid]
	}
	next
}
/ kvm_entry: / {
	nentry++
	if (pid in need)
		bad("tag_flushed_on_its_cpu", "VM-entry on CPU " cpu \
		    " before tag " need[pid] " was flushed")
	else if ((pid in need_cpu) && need_cpu[pid] != cpu)
		bad("tag_flushed_on_its_cpu", "tag flushed on CPU " need_cpu[pid] \
		    ", VM-entry on CPU " cpu)
	delete need[pid]
	delete need_cpu[pid]
	flushed[pid] = ""
	if (!in_l2[pid])
		next
	v1 = vcpu_of[pid]
	if ((pid in vmcs02_cpu) && vmcs02_cpu[pid] != cpu) {
		nmoved++
		if (ept == "N" && !did(since2[pid], 1, cur[pid], cpu))
			bad("flush_on_new_cpu", "vCPU " v1 ": L2 with VPID " \
			    cur[pid] " on CPU " cpu " after CPU " vmcs02_cpu[pid] \
			    ", not flushed there:" since2[pid])
		if (mode == "byvpid") {
			live = 0
			if (!index(since2[pid], " 1:" v1 ":" cpu " "))
				bad("every_tag_flushed", "vCPU " v1 " moved to CPU " \
				    cpu ": vpid01 not flushed:" since2[pid])
			for (k in map) {
				split(k, p, SUBSEP)
				if (p[1] != v1)
					continue
				live++
				if (!index(since2[pid], " 1:" map[k] ":" cpu " "))
					bad("every_tag_flushed", "vCPU " v1 " moved to CPU " \
					    cpu ": tag " map[k] " of vpid12 " p[2] \
					    " not flushed:" since2[pid])
			}
			if (live > maxlive)
				maxlive = live
		}
	}
	vmcs02_cpu[pid] = cpu
	since2[pid] = ""
}
function verdict(check, ok_msg, skip_why) {
	if (skip_why != "")
		print "SKIP", check, skip_why
	else if (nbad[check])
		print "FAIL", check, nbad[check] " violations"
	else
		print "PASS", check, ok_msg
}
END {
	# A tag given while it was the vpid01 of a vCPU seen before and after.
	for (i = 1; i <= ntaken; i++) {
		split(taken[i], t, " ")
		if ((t[1] in first) && t[1] != t[2] && first[t[1]] < t[3] &&
		    t[3] < last[t[1]])
			bad("no_shared_tag", "tag " t[1] " given to vCPU " t[2] \
			    " at line " t[3] " is the VPID of a live vCPU")
	}
	printf "# %s: %d VM-entries, %d of L2 moved to another CPU;", \
	       mode, nentry, nmoved
	printf " nested VM-Enters:"
	for (r in nenter)
		printf " %s %d", r, nenter[r]
	printf "; emulated INVVPIDs:"
	for (a in ninv)
		printf " %s %d", a, ninv[a]
	printf "; individual-address ones deferred %d, flushed %d;", ndefer, nnow
	printf " all-context INVVPIDs by KVM %d\n", nglobal
	vcpus = 0
	for (v in first)
		vcpus++
	complete = overrun == 0 && nenter["miss"] > 0
	if (mode == "conc")
		complete = complete && vcpus >= 4 && nmoved > 0
	else
		complete = complete && nmoved > 0 && ndefer > 0 && nnow > 0
	if (complete)
		print "PASS", "trace_complete", vcpus " vCPUs, " nmoved " moves"
	else
		print "FAIL", "trace_complete", overrun + 0 " events lost, " \
		      nenter["miss"] + 0 " misses, " vcpus " vCPUs, " \
		      nmoved + 0 " moves, " ndefer + 0 " deferred and " \
		      nnow + 0 " flushed INVVPIDs"
	verdict("tag_flushed_on_its_cpu", "on the CPU that runs it")
	verdict("flush_on_new_cpu", "each time L2 moved", ept == "N" ? "" : \
		"ept=Y: KVM flushes a moved vCPU with INVEPT, not traced")
	if (mode != "conc")
		verdict("bug2026_invvpid_on_vmcs02_cpu", ndefer + 0 " deferred, " \
			nnow + 0 " flushed where vmcs02 ran")
	if (mode == "byvpid") {
		if (nglobal)
			bad("every_tag_flushed", nglobal " all-context INVVPIDs")
		if (maxlive < 2)
			bad("every_tag_flushed", "never more than " maxlive + 0 \
			    " live tags when L2 moved")
		verdict("every_tag_flushed", "up to " maxlive " live tags")
	}
	verdict("no_shared_tag", ntaken " tags taken")
}
