#!/usr/bin/env python3
"""Tabulate nested_vpid_bench results: CSV, Markdown and a PNG chart.

Reads the "BENCH key=value ..." records that nested_vpid_bench prints,
the "TLBWALK key=value ..." records of vm/guest/nested_vpid_tlb (the
page walks of a round trip on the emulated CPU's TLB model, added to
the BENCH row of the same set and workload), and the "L1LINUX
key=value ..." records of make l1-linux (Linux KVM as
L1 runs K VMs round-robin, N round trips in all, and what L0 counted
for them: vm/guest/nested_vpid_l1_linux), and the "L2LINUX key=value
..." records of make l2-linux (an L2 Linux under Linux KVM as L1 runs
the context-switch benchmark, vm/l2/ctxsw.c, in each of K VMs at once:
one record per VM and run, with what L0 counted for the run of all K),
either from an emulated run's results.json (vm-run writes each test's
records there, with the set it ran in) or from a plain log of a native
run (make bench-host). Writes results.csv (ctxsw.csv for L2LINUX),
results.md and flushes.png (gnuplot) into --out and prints the tables.
Python 3 standard library only.
"""

import argparse
import csv
import datetime
import json
import os
import shutil
import subprocess
import sys

# A record line's format is vm-run's (scripts/vmrun/serial.py).
from vmrun.serial import OUTPUT, parse_record

STATS = ('flushes', 'misses', 'evictions', 'fallbacks', 'l2_flushes',
         'root_loads', 'l2_enters')
FIELDS = (['set', 'mode', 'workload', 'k', 'm', 'p', 'roundtrips', 'l1_vpid',
           'l1_inv', 'invs', 'hits'] + list(STATS) + ['recycled'] +
          [s + '_per_1k' for s in STATS] + ['cycles_per_rt', 'wall_ms'] +
          ['walks_per_rt'])


KINDS = ('BENCH', 'L1LINUX')


def records(path):
    """(set, record) of each record in a results.json or a plain log."""
    if path.endswith('.json'):
        with open(path) as f:
            for e in json.load(f)['results']:
                for rec in e['records']:
                    yield e['set'], dict(rec)
        return
    with open(path, errors='replace') as f:
        for line in f:
            line = line.rstrip('\r\n')
            if line.startswith(OUTPUT):     # bench-host.sh's log
                line = line[len(OUTPUT):]
            rec = parse_record(line)
            if rec:
                yield rec.get('mode', '?'), rec


def parse(paths):
    """BENCH and L1LINUX records, in the order they were printed, with
    the page walks of the TLBWALK record of their set and workload; and
    the L2LINUX records, one row per set and run (see ctxsw_row())."""
    rows, walks, ctx = [], {}, {}
    for path in paths:
        for set_name, rec in records(path):
            kind = rec.pop('kind')
            if kind == 'TLBWALK':
                walks[(set_name, label(rec))] = rec
                continue
            if kind == 'L2LINUX':
                rec['set'] = set_name
                ctx.setdefault((set_name, ctxsw_label(rec)), []).append(rec)
                continue
            if kind not in KINDS:
                continue
            if kind == 'L1LINUX':
                rec.update(workload='L1', roundtrips=rec['n'],
                           wall_ms=rec['ms'], cycles_per_rt='-')
            rec['set'] = set_name
            rts = int(rec['roundtrips'])
            for s in STATS:
                if s in rec:    # l2_enters: L1LINUX only
                    rec[s + '_per_1k'] = f'{int(rec[s]) * 1000 / rts:g}'
            rows.append(rec)
    for rec in rows:
        w = walks.get((rec['set'], label(rec)))
        if w:
            rec['walks_per_rt'] = w['walks_per_rt']
    return rows, [ctxsw_row(vms) for vms in ctx.values()]


def ctxsw_label(rec):
    return (f'L1 ept={rec["l1_ept"]} K={rec["k"]} N={rec["n"]} '
            f'S={rec["size_kb"]}')


CTXSW_STATS = ('l2_enters', 'l2_flushes', 'misses', 'walks')
CTXSW_FIELDS = (['set', 'l1_ept', 'k', 'n', 'size_kb', 'rounds', 'switches'] +
                list(CTXSW_STATS) + [s + '_per_switch' for s in CTXSW_STATS] +
                ['per_switch_us'])


def ctxsw_row(vms):
    """One run of the K VMs (their records): L0's counts, the same in
    each, per context switch of all of them (K * N * rounds; the counts
    include ctxsw's own overhead loop, which switches nothing), and the
    latency ctxsw measured, the mean over the VMs."""
    row = dict(vms[0])
    sw = int(row['k']) * int(row['n']) * int(row['rounds'])
    row['switches'] = str(sw)
    for s in CTXSW_STATS:     # walks: '-' on a real CPU
        row[s + '_per_switch'] = (f'{int(row[s]) / sw:.3g}'
                                  if row[s].isdigit() else '-')
    us = sum(int(r['per_switch_ns']) for r in vms) / len(vms) / 1000
    row['per_switch_us'] = f'{us:.2f}'
    return row


CTXSW_TABLES = [
    ("L1's VM-Enters to L2 (nested_run) per context switch",
     lambda r: r['l2_enters_per_switch']),
    ('VM-Enters to L2 after a flush of its translations (nested_l2_flushes) '
     'per context switch', lambda r: r['l2_flushes_per_switch']),
    ('tag misses per context switch', lambda r: r['misses_per_switch']),
    ('page walks of L1 and L2 per context switch, on the emulated TLB model',
     lambda r: r['walks_per_switch']),
    ('context-switch latency in L2, us on the emulated clock (not '
     'comparable to hardware)', lambda r: r['per_switch_us']),
]


def label(rec):
    w = rec['workload']
    if w in ('W2', 'W3', 'W5', 'W6', 'W7', 'W8'):
        return (f'{w} K={rec["k"]}' +
                (f' M={rec["m"]}' if w in ('W3', 'W7') else ''))
    if w == 'W4':
        return f'W4 P={rec["p"]}'
    if w == 'L1':
        return (f'L1 Linux K={rec["k"]}' +
                (f' V={rec["v"]}' if rec['v'] != '1' else ''))
    return w


def pivot(rows, label_of=label):
    """Row labels, set names and {(label, set): record}, first seen first."""
    labels, sets, cell = [], [], {}
    for r in rows:
        lab = label_of(r)
        if lab not in labels:
            labels.append(lab)
        if r['set'] not in sets:
            sets.append(r['set'])
        cell[(lab, r['set'])] = r   # a rerun replaces an earlier result
    return labels, sets, cell


def md_table(title, labels, sets, cell, fmt):
    out = [f'**{title}**', '',
           '| workload | ' + ' | '.join(sets) + ' |',
           '|---|' + '---:|' * len(sets)]
    for lab in labels:
        vals = [fmt(cell[(lab, s)]) if (lab, s) in cell else '-'
                for s in sets]
        out.append(f'| {lab} | ' + ' | '.join(vals) + ' |')
    return out + ['']


def text_table(title, labels, sets, cell, fmt):
    w0 = max([len('workload')] + [len(x) for x in labels])
    ws = [max(len(s), 8) for s in sets]
    out = [title, 'workload'.ljust(w0) + ''.join(
        '  ' + s.rjust(w) for s, w in zip(sets, ws))]
    for lab in labels:
        out.append(lab.ljust(w0) + ''.join(
            '  ' + (fmt(cell[(lab, s)]) if (lab, s) in cell else '-').rjust(w)
            for s, w in zip(sets, ws)))
    return out + ['']


def num(x):
    return f'{float(x):g}'


TABLES = [
    ('flushes the tag cache asked for (nested_vpid_flushes), per 1000 '
     'round trips', lambda r: num(r['flushes_per_1k'])),
    ('VM-Enters to L2 after a flush of its translations by any cause '
     '(nested_l2_flushes; roots loaded, nested_l2_root_loads), per 1000 '
     'round trips',
     lambda r: (f'{num(r["l2_flushes_per_1k"])} '
                f'({num(r["root_loads_per_1k"])})')),
    ('tag misses (evictions) per 1000 round trips',
     lambda r: f'{num(r["misses_per_1k"])} ({num(r["evictions_per_1k"])})'),
    ('fallbacks per 1000 round trips', lambda r: num(r['fallbacks_per_1k'])),
    ("L1's VM-Enters to L2 (nested_run) per 1000 round trips",
     lambda r: num(r['l2_enters_per_1k']) if 'l2_enters_per_1k' in r
     else '-'),
    ('page walks per round trip in L1 and L2, on the emulated TLB model '
     '(N and 2N round trips: the difference over N)',
     lambda r: r.get('walks_per_rt', '-')),
    ('cycles per round trip as L1 sees them', lambda r: r['cycles_per_rt']),
    ('wall time of the run, ms', lambda r: r['wall_ms']),
]


def chart(path, labels, sets, cell, title):
    """Clustered bars of flushes per 1000 round trips, log scale."""
    gp = shutil.which('gnuplot')
    if not gp:
        return 'gnuplot not found (make deps installs gnuplot-nox)'
    dat = path[:-4] + '.dat'
    with open(dat, 'w') as f:
        f.write('workload ' + ' '.join(sets) + '\n')
        for lab in labels:
            vals = []
            for s in sets:
                r = cell.get((lab, s))
                v = float(r['flushes_per_1k']) if r else 0
                vals.append(f'{v:g}' if v > 0 else '?')
            f.write('"' + lab + '" ' + ' '.join(vals) + '\n')
    res = subprocess.run([gp, '-e', 'set terminal'], capture_output=True,
                         text=True)
    terms = res.stdout + res.stderr
    term = ('pngcairo size 1200,600 font ",10"' if 'pngcairo' in terms
            else 'png size 1200,600')
    script = f'''
set terminal {term}
set output "{path}"
set title "{title}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set yrange [0.5:*]
set ylabel "flushes per 1000 round trips (log scale; 0 not drawn)"
set xtics rotate by -30 noenhanced
set key outside right top noenhanced
set grid ytics
set datafile missing "?"
plot for [i=2:{len(sets) + 1}] "{dat}" using i:xtic(1) title columnheader(i)
'''
    res = subprocess.run([gp], input=script, capture_output=True, text=True)
    if res.returncode:
        return f'gnuplot failed: {res.stderr.strip()}'
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', required=True, help='output directory')
    ap.add_argument('--where', default='',
                    help='where it ran, for the title (machine, kernel)')
    ap.add_argument('logs', nargs='+',
                    help="an emulated run's results.json, or plain logs")
    args = ap.parse_args()

    rows, ctx = parse(args.logs)
    if not rows and not ctx:
        print('bench-report: no BENCH records in ' + ' '.join(args.logs),
              file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    date = datetime.date.today().isoformat()
    md, text = ctxsw_tables(args, ctx, date) if ctx else ([], [])
    if not rows:
        with open(os.path.join(args.out, 'results.md'), 'w') as f:
            f.write('\n'.join(md))
        print('\n'.join(text))
        print(f'bench-report: {os.path.join(args.out, "results.md")}')
        return 0
    with open(os.path.join(args.out, 'results.csv'), 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, extrasaction='ignore')
        w.writeheader()
        w.writerows(rows)

    ctx_md, ctx_text = md, text
    labels, sets, cell = pivot(rows)
    rts = sorted({r['roundtrips'] for r in rows})
    head = (f'nested VPID, {date}, {args.where}; '
            f'{"/".join(rts)} round trips per run')
    md = [f'Measured {date}, {args.where}. Each cell is one run of '
          f'{"/".join(rts)} round trips in a fresh VM; counts are per 1000 '
          'round trips. W1: one L2; W2: K L2 VPIDs round-robin; W3: W2 with '
          'a single-context INVVPID every M round trips; W4: L2 writes P '
          'pages per round trip. With EPT in vmcs12 (L0 ept=1 only): W5: K '
          'VPIDs sharing one EPTP12; W6: K VPIDs each with its own EPTP12, '
          'switched by VMWRITE; W7: W6 with a single-context INVEPT every M '
          'round trips; W8: W6 with one vmcs12 per L2, switched by VMPTRLD. '
          'L1 Linux K (make l1-linux): Linux KVM as L1 runs K VMs of one '
          'vCPU (or V) round-robin on its one CPU, each vCPU writing P pages '
          'per round trip; its wall time is what L1 measures on its '
          'emulated clock.',
          '']
    text = [head, '']
    for title, fmt in TABLES:
        if all(fmt(r) == '-' for r in rows):
            continue    # e.g. cycles, which make l1-linux does not measure
        md += md_table(title, labels, sets, cell, fmt)
        text += text_table(title, labels, sets, cell, fmt)
    png = os.path.join(args.out, 'flushes.png')
    err = chart(png, labels, sets, cell,
                f'nested VPID: flushes per 1000 round trips ({args.where})')
    md += ['![flushes per 1000 round trips](flushes.png)' if not err
           else f'(no chart: {err})', ''] + ctx_md
    text += ctx_text
    with open(os.path.join(args.out, 'results.md'), 'w') as f:
        f.write('\n'.join(md))

    print('\n'.join(text))
    for name in ('results.csv', 'results.md'):
        print(f'bench-report: {os.path.join(args.out, name)}')
    print(f'bench-report: {png}' if not err else f'bench-report: {err}')
    return 0


def ctxsw_tables(args, ctx, date):
    """make l2-linux's tables: writes ctxsw.csv, returns the Markdown and
    text lines."""
    with open(os.path.join(args.out, 'ctxsw.csv'), 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=CTXSW_FIELDS, extrasaction='ignore')
        w.writeheader()
        w.writerows(ctx)
    labels, sets, cell = pivot(ctx, ctxsw_label)
    md = [f'Measured {date}, {args.where}. An L2 Linux under Linux KVM as '
          'L1 (L1 ept=N: L1 shadows L2\'s page tables) runs the '
          'context-switch benchmark (vm/l2/ctxsw.c: N processes in a ring '
          'of pipes on one CPU, each touching S KiB) in each of K VMs at '
          'once on L1\'s one CPU; counts are what L0 counted for the run of '
          'all K, per context switch.', '']
    text = [f'L2 context switches, {date}, {args.where}', '']
    for title, fmt in CTXSW_TABLES:
        md += md_table(title, labels, sets, cell, fmt)
        text += text_table(title, labels, sets, cell, fmt)
    print(f'bench-report: {os.path.join(args.out, "ctxsw.csv")}')
    return md, text


if __name__ == '__main__':
    sys.exit(main())
