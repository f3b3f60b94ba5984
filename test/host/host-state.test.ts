import { describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import {
  ALLOWED_FILE,
  type HostState,
  compareHostStates,
  parseAllowed,
  parseLinks,
  parseMounts,
} from '../../scripts/host-state.mjs';

// The check .ci/run makes around the suite (scripts/host-state.mjs): its comparison, on recorded states. No engine.

const MOUNTINFO = `22 1 0:21 / / rw,relatime shared:1 - overlay overlay rw,lowerdir=/a
35 22 0:5 / /dev rw,nosuid shared:2 - devtmpfs udev rw,size=4000k
91 22 0:4 net:[4026531840] /run/docker/netns/default rw shared:50 - nsfs nsfs rw
`;

const IP_LINK = `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc mq state UP mode DEFAULT group default qlen 1000\\    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff
3: docker0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN mode DEFAULT group default \\    link/ether 02:42:ac:11:00:01 brd ff:ff:ff:ff:ff:ff
7: veth1a2b3c4@if6: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master docker0 state UP mode DEFAULT group default \\    link/ether 9a:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff link-netnsid 0
`;

function state(overrides: Partial<HostState> = {}): HostState {
  return {
    link: parseLinks(IP_LINK),
    mount: parseMounts(MOUNTINFO),
    container: ['site-web'],
    image: ['debian:12', 'docker-cernvm-test/slot:1'],
    ...overrides,
  };
}

describe('the host-state check', () => {
  it('reads link names without a veth peer, and mount points with their types but no ids', () => {
    expect(parseLinks(IP_LINK)).toEqual(['lo', 'eth0', 'docker0', 'veth1a2b3c4']);
    expect(parseMounts(MOUNTINFO)).toEqual(['/ overlay', '/dev devtmpfs', '/run/docker/netns/default nsfs']);
  });

  it('finds nothing when the suite left the host as it found it', () => {
    expect(compareHostStates(state(), state())).toEqual([]);
  });

  it('fails when a test leaks a mount, naming it', () => {
    const after = state({ mount: [...state().mount, '/run/docker-cernvm-it-engine/netns/default nsfs'] });
    expect(compareHostStates(state(), after)).toEqual(['mount left: /run/docker-cernvm-it-engine/netns/default nsfs']);
  });

  it('counts a mount stacked on a mount point that was there before', () => {
    const after = state({ mount: [...state().mount, '/dev devtmpfs', '/dev devtmpfs'] });
    expect(compareHostStates(state(), after)).toEqual(['mount left: /dev devtmpfs (2 times)']);
  });

  it("names what went: the host's docker0, an image", () => {
    const after = state({ link: ['lo', 'eth0', 'veth1a2b3c4'], image: ['docker-cernvm-test/slot:1'] });
    expect(compareHostStates(state(), after)).toEqual(['link gone: docker0', 'image gone: debian:12']);
  });

  it('names a container and a link left behind', () => {
    const after = state({ container: ['site-web', 'dcvm-test-slot-0'], link: [...state().link, 'dcvm-it-engine'] });
    expect(compareHostStates(state(), after)).toEqual([
      'link left: dcvm-it-engine',
      'container left: dcvm-test-slot-0',
    ]);
  });

  it("excuses only what the allowed file lists: the suite's cached image, the host engine's own netns", async () => {
    const allowed = parseAllowed(await readFile(ALLOWED_FILE, 'utf8'));
    const before = state({ image: ['debian:12'], mount: ['/ overlay'] });
    const after = state({
      image: ['debian:12', 'docker-cernvm-test/slot:1', 'docker-cernvm-test/cernvm:leaked'],
      mount: [
        '/ overlay',
        '/run/docker/netns/default nsfs',
        '/var/cache/docker-cernvm-test/trixie-docker26-v1/proc proc',
      ],
    });
    expect(compareHostStates(before, after, allowed)).toEqual([
      'mount left: /var/cache/docker-cernvm-test/trixie-docker26-v1/proc proc',
      'image left: docker-cernvm-test/cernvm:leaked',
    ]);
  });

  it('refuses an allowed file it cannot read', () => {
    expect(() => parseAllowed('mounts /var/cache/*\n')).toThrow('not "KIND GLOB"');
    expect(parseAllowed('# only a comment\n\nlink dcvm-*  # and one here\n').map((a) => [a.kind, a.pattern])).toEqual([
      ['link', 'dcvm-*'],
    ]);
  });
});
