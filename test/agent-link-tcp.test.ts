import { describe, expect, it } from 'vitest';
import { sendQueueOf } from '../agents/tcp-delivery.js';

const TABLE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0753 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0200D50A:A1B2 0100D50A:075B 01 0001F400:00000000 01:00000014 00000000     0        0 2 1 0 20 4 30 10 -1
`;

describe('the send queue of the agent’s TCP connection', () => {
  it('reads tx_queue of the established socket with the given ports, and nothing else', () => {
    expect(sendQueueOf([TABLE], 0xa1b2, 1883)).toBe(0x1f400);
    expect(sendQueueOf([TABLE], 1883, 0)).toBeUndefined(); // listening, not established
    expect(sendQueueOf([TABLE], 0xa1b3, 1883)).toBeUndefined();
    expect(sendQueueOf(['garbage\n\n:::'], 1, 2)).toBeUndefined();
  });
});
