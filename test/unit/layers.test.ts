// The layers of src/ (docs/architecture.md) are enforced by eslint's no-restricted-imports:
// these cases lint a wrong-direction import as if it stood in a real file of the lower
// layer, and expect the rule to refuse it (and a right-direction one to pass).
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function layerErrors(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath });
  return (result?.messages ?? []).filter((message) => message.ruleId === 'no-restricted-imports').map((message) => message.message);
}

describe('layer rules', () => {
  it.each([
    ['src/store/database.ts', "import { correlate } from '../correlation/correlate.js';\nexport const x = correlate;\n"],
    ['src/collectors/types.ts', "import { buildReportModel } from '../reports/build-model.js';\nexport const x = buildReportModel;\n"],
    [
      'src/correlation/rules/common.ts',
      "import { collectEntra } from '../../collectors/entra/index.js';\nexport const x = collectEntra;\n",
    ],
    ['src/reports/model.ts', "import { buildApp } from '../api/app.js';\nexport const x = buildApp;\n"],
    ['src/api/pagination.ts', "import { registerCollect } from '../cli/commands/collect.js';\nexport const x = registerCollect;\n"],
    ['src/emulators/seeded-random.ts', "import { openStore } from '../store/database.js';\nexport const x = openStore;\n"],
  ])('refuses an import against the layers in %s', { timeout: 60_000 }, async (filePath, source) => {
    const errors = await layerErrors(filePath, source);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/may import only .*docs\/architecture\.md/);
  });

  it('lets a layer import the layers below it', { timeout: 60_000 }, async () => {
    expect(
      await layerErrors(
        'src/reports/model.ts',
        "import { correlate } from '../correlation/correlate.js';\nimport { openStore } from '../store/database.js';\nexport const x = [correlate, openStore];\n",
      ),
    ).toEqual([]);
  });
});
