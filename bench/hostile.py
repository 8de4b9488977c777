#!/usr/bin/env python3
"""Rulesets that make an analysis of forward-hook chains work hard, as nft text on stdout.

    hostile.py KIND N [NAME]

KIND:
  ladder   15 chains (the deepest jump stack the kernel allows), N conditional jumps each
           (ip saddr, unknown to the analysis) to the next; the last one is NAME (default
           LIBVIRT_FWI, a chain the analysis watches) and rejects what leaves on virbr0.
           Without memoisation the paths grow as N^14.
  chains   N chains of 10 rules each, every one jumped to from the base chain.
  vmap     one verdict map of N client addresses over 100 chains that drop a port.
  ifvmap   one verdict map of N input interface names over 100 chains.
  ifrules  Docker's isolation pattern for N bridges: 2N interface names, N*N pairs.
Used by bench/analysis.sh and tests/integration/hostile_rulesets.sh.
"""
import sys


def ladder(n, last):
    names = ['c%d' % i for i in range(14)] + [last]
    out = ['table ip ladder {',
           ' chain forward { type filter hook forward priority 0; policy accept; jump c0; }']
    for i, c in enumerate(names):
        out.append(' chain %s {' % c)
        if i + 1 < len(names):
            for k in range(n):
                out.append('  ip saddr 10.%d.%d.%d jump %s' % (i, k // 250, k % 250 + 1, names[i + 1]))
        else:
            out.append('  oifname "virbr0" ip daddr 192.0.2.0/24 ct state established,related accept')
            out.append('  oifname "virbr0" reject')
        out.append(' }')
    return out + ['}']


def chains(n):
    out = ['table ip chains {', ' chain forward { type filter hook forward priority 0; policy accept;']
    out += ['  ip saddr 10.%d.%d.0/24 jump c%d' % (i // 250, i % 250, i) for i in range(n)]
    out.append(' }')
    for i in range(n):
        out.append(' chain c%d {' % i)
        out += ['  tcp dport %d ip daddr 198.51.100.%d accept' % (1000 + k, i % 250 + 1) for k in range(10)]
        out.append(' }')
    return out + ['}']


def vmap(n):
    out = ['table ip vmaps {']
    out += [' chain t%d { tcp dport %d drop; }' % (i, 4000 + i) for i in range(100)]
    out += [' chain forward { type filter hook forward priority 0; policy accept;', '  ip saddr vmap {']
    out.append(',\n'.join('   10.%d.%d.%d : jump t%d' % (i // 62500, i // 250 % 250, i % 250 + 1, i % 100)
                          for i in range(n)))
    return out + ['  }', ' }', '}']


def ifvmap(n):
    out = ['table ip ifvmap {']
    out += [' chain t%d { oifname "vnet%d" accept; }' % (i, i) for i in range(100)]
    out += [' chain forward { type filter hook forward priority 0; policy accept;', '  iifname vmap {']
    out.append(',\n'.join('   "if%d" : jump t%d' % (i, i % 100) for i in range(n)))
    return out + ['  }', ' }', '}']


def ifrules(n):
    out = ['table ip ifrules {', ' chain forward { type filter hook forward priority 0; policy drop;']
    out += ['  iifname "br-%d" oifname != "br-%d" jump iso2' % (i, i) for i in range(n)]
    out += ['  iifname "br-%d" oifname "vnet%d" accept' % (i, i) for i in range(n)]
    out += [' }', ' chain iso2 {']
    out += ['  oifname "br-%d" drop' % i for i in range(n)]
    return out + [' }', '}']


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ('ladder', 'chains', 'vmap', 'ifvmap', 'ifrules'):
        sys.exit(__doc__)
    kind, n = sys.argv[1], int(sys.argv[2])
    lines = ladder(n, sys.argv[3] if len(sys.argv) > 3 else 'LIBVIRT_FWI') if kind == 'ladder' \
        else globals()[kind](n)
    print('\n'.join(lines))


main()
