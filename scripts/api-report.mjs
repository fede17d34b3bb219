#!/usr/bin/env node
// The API reports (api/*.api.md), one per package entry, made by API Extractor from dist/'s
// declarations. Without flags it fails when the public surface differs from the checked-in
// report (npm run check); --update rewrites the reports (npm run api) for review.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';
import './build-dist.mjs';

const update = process.argv.includes('--update');
const configs = join(import.meta.dirname, '..', 'api', 'config');
let failed = false;
for (const file of readdirSync(configs).sort()) {
  if (file === 'base.json' || !file.endsWith('.json')) continue;
  const config = ExtractorConfig.loadFileAndPrepare(join(configs, file));
  const result = Extractor.invoke(config, { localBuild: update, showVerboseMessages: false });
  if (!result.succeeded || (!update && result.apiReportChanged)) {
    failed = true;
    console.error(
      `api: ${config.reportFilePath ?? file} ${result.apiReportChanged ? 'differs from the public surface: run npm run api and review the diff' : 'failed'}`,
    );
  }
}
if (failed) process.exitCode = 1;
