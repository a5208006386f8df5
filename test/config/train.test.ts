import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTrainConfig, resolveTrainConfig } from '../../src/config/train.js';
import { ConfigError } from '../../src/errors.js';

const file = (text: string) => {
  const p = join(mkdtempSync(join(tmpdir(), 'ganon-cfg-')), 'c.yaml');
  writeFileSync(p, text);
  return p;
};

describe('training config', () => {
  it('configs/paper.yaml is the paper: 512 px, batch 32, 25 epochs, Adam 2e-4 (0.5, 0.999), lambda 100', () => {
    const c = loadTrainConfig('configs/paper.yaml');
    expect(c).toMatchObject({
      imageSize: 512, seed: 42,
      model: { ngf: 64, ndf: 64, depth: 8, dropout: 0.5 },
      train: { batchSize: 32, epochs: 25, lr: 0.0002, beta1: 0.5, beta2: 0.999, lambdaL1: 100, discriminatorFake: 'reuse' },
    });
  });

  it('configs/smoke.yaml is a tiny net at 64 px', () => {
    const c = loadTrainConfig('configs/smoke.yaml');
    expect(c.imageSize).toBe(64);
    expect(c.model.ngf).toBeLessThanOrEqual(16);
  });

  it('an unknown key fails naming it, with a suggestion', () => {
    expect(() => loadTrainConfig(file('train:\n  bachSize: 4\n'))).toThrow(new ConfigError("unknown config key 'train.bachSize' (did you mean 'train.batchSize'?)"));
  });

  it('a wrong type fails naming the key and the value', () => {
    expect(() => loadTrainConfig(file('train:\n  batchSize: "eight"\n'))).toThrow(/train.batchSize must be a number \(got "eight"\)/);
    expect(() => resolveTrainConfig({ train: { discriminatorFake: 'sometimes' } })).toThrow(/train.discriminatorFake must be one of reuse, regenerate/);
    expect(() => resolveTrainConfig({ model: { depth: 2.5 } })).toThrow(/model.depth must be an integer/);
  });

  it('--set overrides are validated like the file', () => {
    expect(loadTrainConfig('configs/paper.yaml', ['train.batchSize=8', 'train.discriminatorFake=regenerate']).train)
      .toMatchObject({ batchSize: 8, discriminatorFake: 'regenerate' });
    expect(() => loadTrainConfig('configs/paper.yaml', ['train.batchsize=8'])).toThrow(/unknown config key 'train.batchsize'/);
    expect(() => loadTrainConfig('configs/paper.yaml', ['train.lr=fast'])).toThrow(/train.lr must be a number/);
    expect(() => loadTrainConfig(undefined, ['nonsense'])).toThrow(/--set expects key=value/);
  });

  it('imageSize must fit the network depth', () => {
    expect(() => resolveTrainConfig({ imageSize: 300 })).toThrow(/imageSize 300 must be a multiple of 2\^model.depth = 256/);
  });

  it('a missing file and invalid YAML are clear errors', () => {
    expect(() => loadTrainConfig('/no/such/config.yaml')).toThrow(/cannot read config '\/no\/such\/config.yaml': ENOENT/);
    expect(() => loadTrainConfig(file('train: [unclosed\n'))).toThrow(/is not valid YAML/);
  });
});

describe('docs/configuration.md', () => {
  it('documents every config key', async () => {
    const { readFileSync } = await import('node:fs');
    const { describeSchema } = await import('../../src/config/schema.js');
    const { trainSchema } = await import('../../src/config/train.js');
    const doc = readFileSync('docs/configuration.md', 'utf8');
    for (const row of describeSchema(trainSchema)) expect(doc).toContain(row);
  });
});
