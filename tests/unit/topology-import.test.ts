import { describe, expect, it } from 'vitest';
import { formatProblems, parseTopologyCsv, parseTopologyJson } from '../../server/topology/topology-import.ts';

describe('topology file parsing', () => {
  it('reads the JSON format', () => {
    const parsed = parseTopologyJson(JSON.stringify({ clients: [{ slug: 'acme', name: 'Acme' }], nodes: [{ client: 'acme', name: 'rtr-01', kind: 'router' }] }, null, 2));
    if ('problems' in parsed) throw new Error(formatProblems(parsed.problems));
    expect(parsed.document.nodes).toEqual([{ client: 'acme', name: 'rtr-01', kind: 'router' }]);
    expect(parsed.lineOf('nodes', 0)).toBe(9);
  });

  it('names the line and the field of every bad JSON record', () => {
    const text = ['{', '  "nodes": [', '    { "client": "acme", "name": "ok" },', '    { "client": "Bad Slug", "name": "x" },', '    { "client": "acme", "name": "y", "kind": "toaster" }', '  ]', '}'].join('\n');
    const parsed = parseTopologyJson(text);
    expect('problems' in parsed && parsed.problems).toEqual([
      { line: 4, where: 'nodes[1].client', message: expect.stringMatching(/client slug/) },
      { line: 5, where: 'nodes[2].kind', message: expect.any(String) },
    ]);
  });

  it('a client’s time zone is an IANA name: an offset, which Postgres would read the other way round, is refused', () => {
    const withZone = (timezone: string) => parseTopologyJson(JSON.stringify({ clients: [{ slug: 'acme', name: 'Acme', timezone }] }));
    expect('document' in withZone('Asia/Kolkata')).toBe(true);
    for (const offset of ['+05:30', '-0800', 'UTC+3']) {
      expect(withZone(offset)).toMatchObject({ problems: [{ where: 'clients[0].timezone', message: expect.stringMatching(/IANA time zone/) }] });
    }
  });

  it('points at the line of a JSON syntax error', () => {
    const parsed = parseTopologyJson('{\n  "nodes": [\n    { "client": "acme", }\n  ]\n}');
    expect('problems' in parsed && parsed.problems[0]).toMatchObject({ line: 3, message: expect.stringMatching(/not valid JSON/) });
    expect('problems' in parseTopologyJson('') && parseTopologyJson('')).toMatchObject({ problems: [{ line: 1 }] });
  });

  it('reads the CSV format, one row per client, site, node or link', () => {
    const csv = [
      'record,client,name,site,kind,parent,from,to,capacity_mbps,utilisation,timezone,uptime_target,location,labels',
      'client,acme,Acme Logistics,,,,,,,,America/New_York,99.95,,',
      'site,acme,Newark Hub,,,,,,,,,,"Newark, NJ",',
      '# comments and blank lines are fine',
      '',
      'node,acme,rtr-01,Newark Hub,router,,,,,,,,,role=edge;rack=R1',
      'node,acme,sw-01,Newark Hub,switch,rtr-01,,,,,,,,',
      'link,acme,,,,,rtr-01,sw-01,10000,0.42,,,,',
    ].join('\n');
    const parsed = parseTopologyCsv(csv);
    if ('problems' in parsed) throw new Error(formatProblems(parsed.problems));
    expect(parsed.document).toEqual({
      clients: [{ slug: 'acme', name: 'Acme Logistics', timezone: 'America/New_York', uptimeTarget: 99.95 }],
      sites: [{ client: 'acme', name: 'Newark Hub', location: 'Newark, NJ' }],
      nodes: [
        { client: 'acme', name: 'rtr-01', site: 'Newark Hub', kind: 'router', labels: { role: 'edge', rack: 'R1' } },
        { client: 'acme', name: 'sw-01', site: 'Newark Hub', kind: 'switch', parent: 'rtr-01' },
      ],
      links: [{ client: 'acme', from: 'rtr-01', to: 'sw-01', capacityMbps: 10000, utilisation: 0.42 }],
    });
    expect(parsed.lineOf('nodes', 1)).toBe(7);
    expect(parsed.lineOf('links', 0)).toBe(8);
  });

  it('names the line and column of every bad CSV row, and unknown columns', () => {
    const csv = ['record,client,name,kind,utilisation,from,to', 'node,acme,a,router,,,', 'node,acme,,switch,,,', 'gizmo,acme,b,,,,', 'link,acme,,,1.5,a,b'].join('\n');
    const parsed = parseTopologyCsv(csv);
    expect('problems' in parsed && parsed.problems).toEqual([
      { line: 3, where: 'name', message: expect.any(String) },
      { line: 4, where: 'record', message: expect.stringMatching(/client, site, node or link/) },
      { line: 5, where: 'utilisation', message: expect.any(String) },
    ]);
    const unknown = parseTopologyCsv('record,client,name,colour\nnode,acme,a,red');
    expect('problems' in unknown && unknown.problems[0]).toMatchObject({ line: 1, message: expect.stringMatching(/unknown column "colour"/) });
  });
});
