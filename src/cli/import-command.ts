/** `segmenta import <file>`: stream a CSV / JSONL / Parquet file of events, orders or customers into a workspace. */
import { basename } from 'node:path';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { importFile, parseMappingSpec, type FileFormat, type ImportKind, type ImportOptions, type ImportReport } from '../services/import/import-file.js';
import { CliError, EXIT, chooseWorkspace, printJson, withSegmenta, type GlobalOptions } from './context.js';
import { createProgress } from './progress.js';

const KINDS: readonly ImportKind[] = ['events', 'orders', 'customers'];
const FORMATS: readonly FileFormat[] = ['csv', 'tsv', 'jsonl', 'parquet', 'whitespace'];

interface ImportCliOptions {
  kind: string;
  format?: string;
  preset?: string;
  map?: string;
  delimiter?: string;
  dateFormat?: string;
  workspace?: string;
}

export function registerImport(program: Command): void {
  program
    .command('import <file>')
    .description('import a file of events, orders (with line items) or customers; re-importing the same file adds nothing')
    .requiredOption('--kind <kind>', `what the rows are: ${KINDS.join(', ')}`)
    .option('--format <format>', `${FORMATS.join(', ')} (default: from the file name; .gz is read as gzip)`)
    .option('--preset <name>', 'a known layout: online-retail (invoice-line export), cdnow (whitespace purchase log)')
    .option('--map <spec>', 'column mapping, e.g. userId=CustomerID,orderId=InvoiceNo,timestamp=InvoiceDate')
    .option('--delimiter <char>', 'CSV delimiter (default: , or tab for .tsv)')
    .option('--date-format <fmt>', 'how dates are written when ambiguous, e.g. DD/MM/YYYY, M/D/YYYY H:mm, YYYYMMDD, epoch-s, epoch-ms')
    .option('--workspace <id>', 'workspace id or name (default: the only one)')
    .action(async (file: string, opts: ImportCliOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      if (!(KINDS as readonly string[]).includes(opts.kind)) throw new CliError(`--kind must be one of ${KINDS.join(', ')}, got '${opts.kind}'`, EXIT.usage);
      if (opts.format !== undefined && !(FORMATS as readonly string[]).includes(opts.format)) {
        throw new CliError(`--format must be one of ${FORMATS.join(', ')}, got '${opts.format}'`, EXIT.usage);
      }
      if (!existsSync(file)) throw new CliError(`no such file: ${file}`, EXIT.notFound);
      const importOpts: ImportOptions = {
        path: file,
        kind: opts.kind as ImportKind,
        source: `file:${basename(file)}`,
        ...(opts.format ? { format: opts.format as FileFormat } : {}),
        ...(opts.preset ? { preset: opts.preset } : {}),
        ...(opts.map ? { mapping: parseMappingSpec(opts.map) } : {}),
        ...(opts.delimiter ? { delimiter: opts.delimiter } : {}),
        ...(opts.dateFormat ? { dateFormat: opts.dateFormat } : {}),
      };
      await withSegmenta(g, async (sg) => {
        const ws = await chooseWorkspace(sg, opts.workspace);
        const progress = createProgress({ label: `import ${basename(file)}`, total: 1, unit: 'bytes', quiet: g.json === true });
        let totalSet = false;
        const report = await importFile(
          importOpts,
          (messages) => sg.ingest.submit(ws, messages, { source: importOpts.source ?? 'file', mode: 'partial' }),
          (p) => {
            if (!totalSet && p.bytesTotal > 0) {
              progress.setTotal(p.bytesTotal);
              totalSet = true;
            }
            progress.update(p.bytesRead, `${p.rows} rows`);
          },
        );
        progress.stop();
        if (g.json) printJson(report);
        else printReport(report);
      });
    });
}

function printReport(r: ImportReport): void {
  const lines = [
    `Imported ${r.file} as ${r.kind}: ${r.rowsRead} rows read → ${r.messages} messages; ${r.imported} stored, ${r.duplicates} already there; ${r.rejectedRows} rows rejected, ${r.skippedRows} skipped`,
  ];
  for (const [reason, n] of Object.entries(r.skippedCounts)) lines.push(`  skipped ${n}: ${reason}`);
  for (const [reason, n] of Object.entries(r.rejectionCounts)) lines.push(`  rejected ${n}: ${reason}`);
  const sample = r.rejections.slice(0, 10);
  if (sample.length) {
    lines.push('  first rejections:');
    for (const x of sample) lines.push(`    row ${x.row}: ${x.reason}`);
  }
  console.log(lines.join('\n'));
}
