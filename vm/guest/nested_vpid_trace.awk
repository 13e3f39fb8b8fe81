# The replay of nested_vpid_trace: KVM's tracepoints checked against the
# rules of nested VPID, as TAP.  Run by nested_vpid_trace in the guest,
# and on the host against recorded traces by tests/trace (make unit):
#
#   awk -v rc=STATUS -v overrun=N -v novpid=0|1 -v ept=Y|N \
#       -f nested_vpid_trace.awk TRACE
#
# TRACE is /sys/kernel/debug/tracing/trace with the events kvm_entry,
# kvm_nested_vpid_enter, kvm_nested_invvpid, kvm_nested_vpid_reset,
# kvm_vmx_invvpid and kvm_nested_vmexit_inject on, and nested_vpid_test's
# trace_marker lines; rc is the exit status of nested_vpid_test and its
# fuzzer (case 1), overrun the events lost (case 2), novpid 1 when L1 has
# no VPID (nested_vpid=N), ept kvm_intel's ept.  Exit status 1 when a
# case fails.
#
# Each vCPU is named by its own VPID, vpid01, in the nested events; the
# flushes (kvm_vmx_invvpid) and VM-entries (kvm_entry) of a vCPU are in
# its thread.  An emulated INVVPID is traced once done, after the flushes
# it made.  Checked, each a TAP case (3 to 6):
#   1. a tag (re)assigned on nested VM-Enter (miss, evict) is flushed,
#      single-context or all-context, before the next VM-entry; so is
#      vpid01 when L2 runs on it (VPID disabled in vmcs12, fallback);
#   2. a hit reuses the tag that vpid12 was given, and distinct live
#      vpid12s of a vCPU never share a tag (a miss takes a tag no live
#      vpid12 holds, an evict takes one from exactly one);
#   3. an INVVPID of L1 acts on the tag that maps the VPID it names: an
#      individual-address INVVPID flushes that address in that tag before
#      the next VM-entry, a dropped mapping was that VPID's, and a VPID
#      with a tag is never left alone;
#   4. an INVVPID of L1 never flushes vpid01 as a single context.  With
#      ept=0, syncing one address in the shadow MMU flushes that address
#      in vpid01, the current VPID, and when a shadow PTE changed, KVM
#      flushes all contexts for its own MMU (kvm_flush_remote_tlbs()):
#      over-flushing L1 is allowed, flushing vpid01 instead of a tag is
#      what this catches.
# Then one case for each upstream fix that the trace can check (7 to 9),
# named as nested_vpid_test's case that sets the scenario up (its section
# 12):
#   bug2021_invvpid_flushes_l2_tag: an INVVPID of L1 that names a VPID
#      with a tag invalidates that tag (flushes the address or the tag
#      now, or drops the mapping so that the VPID's next VM-Enter takes a
#      tag and flushes it), never a single-context flush of vpid01 in its
#      place, nor with EPT an individual-address one; seen for each type;
#   bug2024_vpid01_current_vpid_off: while L2 runs with VPID disabled (or
#      on vpid01 for want of a tag), every flush of one context or address
#      that KVM makes names vpid01, never a tag of the vCPU (but in a flush
#      of every VPID, after vpid01); seen while the vCPU had a tag;
#   bug2026_fresh_vpid_flush_other_vm: after nested_vpid_test frees a VM
#      (its trace_marker line "freed"), a tag given a VPID that the trace
#      saw in use before is flushed before its first VM-entry; seen.
# When L1 has no VPID (nested_vpid=N), every L2 runs on vpid01: rule 1
# is checked for it and rules 2-4 and the upstream-fix cases, which are
# about tags, SKIP.  A trace with no tag assigned (no L2 on vpid01 without
# VPID for L1), or a lost event, fails.

function val(key,    i) {
	for (i = 1; i < NF; i++)
		if ($i == key)
			return $(i + 1)
	return ""
}
function bad(n, msg) {
	if (nbad[n]++ < 5)
		printf "#   line %d: %s\n", NR, msg
}
# Reading a missing element would create it: look before reading.
function tag(v1, v12) {
	return ((v1, v12) in map) ? map[v1, v12] : "none"
}
function pending(a) {
	return (pid in a) ? a[pid] : ""
}
function forget(v1,    k, p) {
	for (k in map) {
		split(k, p, SUBSEP)
		if (p[1] == v1) {
			delete owner[v1, map[k]]
			delete map[k]
		}
	}
}
# bug2021 INVVPID: an INVVPID of L1 that names a VPID with a tag (or an
# all-context one while any VPID has a tag) acts on the tag, whatever it
# says it did, and flushes vpid01 neither as a context nor, with EPT, by
# address.  Called before the replay applies the INVVPID.
function bug2021_invvpid(v1, type, v12, v02, addr, act,    k, p, f, t, n) {
	f = pending(flushed)
	n = 0
	if (type == 2) {
		for (k in map) {
			split(k, p, SUBSEP)
			if (p[1] == v1)
				n++
		}
	} else if ((v1, v12) in map) {
		n = 1
		t = map[v1, v12]
	}
	if (!n)
		return
	ninv_tag[type]++
	if (index(f, " 1 " v1 " ") || (ept == "Y" && index(f, " 0 " v1 " ")))
		bad(5, "an INVVPID of L1 flushed vpid01 " v1 " (flushed:" f ")")
	if (act == "drop-all" && type == 2) {
		for (k in map) {
			split(k, p, SUBSEP)
			if (p[1] == v1)
				dropped[k] = 1
		}
	} else if (act == "drop" && type != 2) {
		dropped[v1, v12] = 1
	} else if (type == 2 || act != "flush" ||
		   (!index(f, " 0 " t " " addr " ") &&
		    !index(f, " 1 " t " ") && !index(f, " 2 "))) {
		bad(5, "INVVPID type " type " of vpid12 " v12 " left tag " \
		    (type == 2 ? "s" : t) " alone: " act " (flushed:" f ")")
	}
}
{ pid = $1 }
# Most lines: first, and alone.
/ kvm_entry: / {
	nentry++
	if (pid in must_flush)
		bad(1, "VM-entry before tag " must_flush[pid] " was flushed")
	if (pid in inv_flush)
		bad(5, "VM-entry before tag " inv_flush[pid] \
		    ", whose mapping INVVPID dropped, was flushed")
	if (pid in fresh_flush)
		bad(7, "VM-entry before VPID " fresh_flush[pid] \
		    ", in use before a VM was freed, was flushed")
	delete inv_flush[pid]
	delete fresh_flush[pid]
	delete must_flush[pid]
	delete flushed[pid]
	delete in_invvpid[pid]
	next
}
/ tracing_mark_write: nested_vpid_test: freed / {
	# A VM is gone: every VPID seen so far had an owner before.
	for (v in seen)
		recycled[v] = 1
	next
}
/ kvm_nested_vmexit_inject: / {
	delete off[pid]
	next
}
/ kvm_nested_vpid_enter: / {
	v1 = val("vpid01"); v12 = val("vpid12"); v02 = val("vpid02"); res = $NF
	nenter[res]++
	seen[v1] = 1
	if (v02 != 0)
		seen[v02] = 1
	# bug2024: the VPID that L2 runs on, if it is vpid01.
	if (v1 != 0 && (res == "vpid-off" || res == "fallback"))
		off[pid] = v1
	else
		delete off[pid]
	# bug2021 INVVPID: a mapping that INVVPID dropped is not hit again.
	if ((v1, v12) in dropped) {
		if (res == "hit")
			bad(5, "vCPU " v1 ": vpid12 " v12 " hit tag " v02 \
			    " after INVVPID dropped its mapping")
		else if (res == "miss" || res == "evict")
			inv_flush[pid] = v02
		delete dropped[v1, v12]
	}
	# bug2026: first use of a VPID that had an owner before a VM went.
	if ((res == "miss" || res == "evict") && (v02 in recycled)) {
		nfresh++
		fresh_flush[pid] = v02
		delete recycled[v02]
	}
	if (res == "miss" || res == "evict")
		hastag[v1] = 1
	if (v1 == 0) {
		# No VPID of its own: L2 runs with VPID disabled, nothing to flush.
		if (v02 != 0)
			bad(1, "a vCPU without VPID gave L2 tag " v02)
		next
	}
	if (res == "hit") {
		if (tag(v1, v12) != v02)
			bad(2, "vCPU " v1 ": hit of vpid12 " v12 " ran tag " v02 \
			    ", its tag is " tag(v1, v12))
		next
	}
	if (res == "miss" || res == "evict") {
		if (v02 == 0 || v02 == v1)
			bad(2, "vCPU " v1 ": vpid12 " v12 " given tag " v02)
		if ((v1, v12) in map)
			bad(2, "vCPU " v1 ": " res " of vpid12 " v12 \
			    " that has tag " map[v1, v12])
		o = ((v1, v02) in owner) ? owner[v1, v02] : ""
		if (res == "miss" && o != "")
			bad(2, "vCPU " v1 ": miss took tag " v02 \
			    " that vpid12 " o " holds")
		if (res == "evict" && o == "")
			bad(2, "vCPU " v1 ": evict took tag " v02 " that no vpid12 held")
		if (o != "")
			delete map[v1, o]
		map[v1, v12] = v02
		owner[v1, v02] = v12
		must_flush[pid] = v02
		next
	}
	# fallback, vpid-off: L2 runs on vpid01, flushed on entry.
	must_flush[pid] = v1
	next
}
/ kvm_nested_invvpid: / {
	v1 = val("vpid01"); type = val("type"); v12 = val("vpid12")
	v02 = val("vpid02"); addr = val("addr"); act = $NF
	ninv[act]++
	if (index(pending(flushed), " 1 " v1 " "))
		bad(4, "an INVVPID of L1 flushed vpid01 " v1 " as a context")
	in_invvpid[pid] = v1
	bug2021_invvpid(v1, type, v12, v02, addr, act)
	if (act == "drop-all") {
		if (type != 2)
			bad(3, "INVVPID type " type " dropped every mapping")
		forget(v1)
		next
	}
	if (act == "none") {
		if ((v1, v12) in map)
			bad(3, "vCPU " v1 ": INVVPID of vpid12 " v12 \
			    " left its tag " map[v1, v12] " alone")
		next
	}
	if (tag(v1, v12) != v02)
		bad(3, "vCPU " v1 ": INVVPID of vpid12 " v12 " " act " tag " v02 \
		    ", its tag is " tag(v1, v12))
	if (act == "flush") {
		# Done already: the address, or the whole tag without
		# individual-address INVVPID, or all contexts.
		if (type != 0)
			bad(3, "INVVPID type " type " flushed one address")
		if (!index(pending(flushed), " 0 " v02 " " addr " ") &&
		    !index(pending(flushed), " 1 " v02 " ") &&
		    !index(pending(flushed), " 2 "))
			bad(3, "INVVPID did not flush tag/address " v02 " " addr \
			    " (flushed:" pending(flushed) ")")
	} else if ((v1, v12) in map) {
		delete owner[v1, map[v1, v12]]
		delete map[v1, v12]
	}
	next
}
/ kvm_nested_vpid_reset: / {
	forget(val("vpid01"))
	delete off[pid]
	if ($NF == "release")
		delete hastag[val("vpid01")]
	next
}
/ kvm_vmx_invvpid: / {
	type = val("type"); vpid = val("vpid"); addr = val("addr")
	if (type == 2 || (type == 1 && vpid == pending(must_flush)))
		delete must_flush[pid]
	flushed[pid] = pending(flushed) " " type " " vpid " " addr " "
	if ((pid in in_invvpid) && type == 1 && vpid == in_invvpid[pid])
		bad(4, "an INVVPID of L1 flushed vpid01 " vpid " as a context")
	if ((pid in in_invvpid) && vpid == in_invvpid[pid] &&
	    (type == 1 || (type == 0 && ept == "Y")))
		bad(5, "an INVVPID of L1 flushed vpid01 " vpid \
		    " (type " type ")")
	if (type == 2 || (type == 1 && vpid == pending(inv_flush)))
		delete inv_flush[pid]
	if (type == 2 || (type == 1 && vpid == pending(fresh_flush)))
		delete fresh_flush[pid]
	# A tag flushed after vpid01 since the last VM-entry is part of a
	# flush of every VPID (vmx_flush_tlb_all() without all-context
	# INVVPID flushes vpid01, then each tag): not a current-VPID flush.
	if ((type == 0 || type == 1) && (pid in off)) {
		if (vpid != off[pid] &&
		    !(type == 1 && index(pending(flushed), " 1 " off[pid] " ")))
			bad(6, "L2 runs on vpid01 " off[pid] " with VPID " \
			    "disabled, KVM flushed VPID " vpid " (type " \
			    type ") as the current one")
		else if (hastag[off[pid]])
			noff_tagged++
	}
	next
}
END {
	printf "#   nested_vpid_test exit status %d; %d VM-entries; nested " \
	       "VM-Enters:", rc, nentry
	for (r in nenter)
		printf " %s %d", r, nenter[r]
	printf "; emulated INVVPIDs:"
	for (a in ninv)
		printf " %s %d", a, ninv[a]
	printf "\n"
	print "1..9"
	fail = 0
	if (rc != 0) {
		print "not ok 1 nested_vpid_test and its fuzzer: status " rc
		fail = 1
	} else {
		print "ok 1 nested_vpid_test and its fuzzer passed"
	}
	if (novpid && (overrun != 0 || nenter["vpid-off"] == 0)) {
		printf "not ok 2 trace complete: %d events lost, %d L2 " \
		       "entries on vpid01\n", overrun, nenter["vpid-off"]
		fail = 1
	} else if (novpid) {
		print "ok 2 trace complete, L2 entered on vpid01"
	} else if (overrun != 0 || nenter["miss"] == 0 || ninv["flush"] == 0) {
		printf "not ok 2 trace complete: %d events lost, %d misses, " \
		       "%d INVVPID flushes\n", overrun, nenter["miss"], \
		       ninv["flush"]
		fail = 1
	} else {
		print "ok 2 trace complete, tags assigned and INVVPIDs flushed"
	}
	split("tag flushed before use|hit reuses, no tag shared|" \
	      "INVVPID acts on the named VPID|no vpid01 context flush by " \
	      "INVVPID", name, "|")
	for (n = 1; n <= 4; n++) {
		if (nbad[n]) {
			printf "not ok %d %s (%d violations)\n", n + 2, name[n],
			       nbad[n]
			fail = 1
		} else if (novpid && n > 1) {
			printf "ok %d %s # SKIP nested_vpid=N: L1 has no " \
			       "VPID, nothing is tagged\n", n + 2, name[n]
		} else {
			printf "ok %d %s\n", n + 2, name[n]
		}
	}
	# The upstream fixes: each must have been exercised.
	seen_what[5] = "INVVPIDs on a tag by type: " ninv_tag[0] + 0 " " \
		       ninv_tag[1] + 0 " " ninv_tag[2] + 0 " " ninv_tag[3] + 0
	exercised[5] = ninv_tag[0] && ninv_tag[1] && ninv_tag[2] && ninv_tag[3]
	seen_what[6] = "flushes of vpid01 while L2 ran on it and a tag " \
		       "existed: " noff_tagged + 0
	exercised[6] = noff_tagged > 0
	seen_what[7] = "tags given a VPID used before a VM was freed: " \
		       nfresh + 0
	exercised[7] = nfresh > 0
	split("bug2021_invvpid_flushes_l2_tag|" \
	      "bug2024_vpid01_current_vpid_off|" \
	      "bug2026_fresh_vpid_flush_other_vm", name, "|")
	for (n = 5; n <= 7; n++) {
		if (novpid && !nbad[n]) {
			printf "ok %d %s # SKIP nested_vpid=N: L1 has no " \
			       "VPID, nothing is tagged\n", n + 2, name[n - 4]
		} else if (nbad[n] || !exercised[n]) {
			printf "not ok %d %s (%d violations; %s)\n", n + 2,
			       name[n - 4], nbad[n], seen_what[n]
			fail = 1
		} else {
			printf "ok %d %s (%s)\n", n + 2, name[n - 4],
			       seen_what[n]
		}
	}
	exit fail
}
