/**
 * Jobs in the app's transaction under kill -9, full size: `npm run chaos:transactions -- [--transactions 10000]
 * [--kills 12] [--pairings sqlite,mysql,pg,redis+mysql,redis+pg]`. Prints one line of counts per
 * pairing; exits 1 if a job was lost, ran twice outside a killed worker, or ran without its row.
 */
import { parseArgs } from 'node:util';
import { TX_PAIRINGS, formatTxFaults, runTxFaults, txFaultsHold, type TxPairing } from './transactions-faults.ts';

const { values } = parseArgs({
  options: {
    transactions: { type: 'string', default: '10000' },
    kills: { type: 'string', default: '12' },
    pairings: { type: 'string', default: TX_PAIRINGS.join(',') },
  },
});
let bad = false;
for (const pairing of values.pairings.split(',') as TxPairing[]) {
  const report = await runTxFaults({ pairing, transactions: Number(values.transactions), kills: Number(values.kills), log: (line) => console.error(line) });
  console.log(formatTxFaults(report));
  if (!txFaultsHold(report)) bad = true;
}
process.exit(bad ? 1 : 0);
