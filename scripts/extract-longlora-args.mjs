// Extracts the command-line argument names of the official LongLoRA scripts from a checkout of
// dvlab-research/LongLoRA (a git directory or work tree) and writes src/io/longlora-official-args.json.
// Usage: node scripts/extract-longlora-args.mjs PATH_TO_LONGLORA_GIT [COMMIT]
// Names come from argparse `add_argument('--x')` calls and from the fields of the dataclasses the
// training scripts hand to HfArgumentParser; the Hugging Face TrainingArguments flags are taken from
// the torchrun commands in the repository's README (the versions it pins in requirements.txt).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const [repo, rev = 'HEAD'] = process.argv.slice(2);
if (!repo) {
  console.error('usage: node scripts/extract-longlora-args.mjs PATH_TO_LONGLORA_GIT [COMMIT]');
  process.exit(2);
}
const git = (...a) => execFileSync('git', ['--git-dir', repo, ...a], { encoding: 'utf8' });
const commit = git('rev-parse', rev).trim();
const show = (path) => git('show', `${commit}:${path}`);

/** argparse flags and HfArgumentParser dataclass fields of one script. */
function argsOf(path) {
  const src = show(path);
  const names = new Set();
  for (const m of src.matchAll(/add_argument\(\s*['"]--([\w-]+)['"]/g)) names.add(m[1]);
  // Fields of @dataclass classes: indented `name: type = field(` lines.
  for (const block of src.split(/\n@dataclass\n/).slice(1)) {
    const body = block.split(/\n(?=\S)/)[0];
    for (const m of body.matchAll(/^ {4}(\w+): [^=\n]+= field\(/gm)) names.add(m[1]);
  }
  return [...names].sort();
}

const scripts = [
  'fine-tune.py',
  'supervised-fine-tune.py',
  'merge_lora_weights_and_save_hf_model.py',
  'eval.py',
  'passkey_retrivial.py',
  'get_trainable_weights.py',
];
const readme = show('README.md');
const torchrun = new Set();
for (const cmd of readme.matchAll(
  /torchrun[^\n]*?(fine-tune\.py|supervised-fine-tune\.py)((?:[^\n]*\\\n)*[^\n]*)/g,
))
  for (const m of cmd[2].matchAll(/--([a-z_0-9]+)/g)) torchrun.add(m[1]);
const transformers = /^transformers==(.+)$/m.exec(show('requirements.txt'))?.[1] ?? null;
const out = {
  source: 'github.com/dvlab-research/LongLoRA',
  commit,
  transformers,
  scripts: Object.fromEntries(scripts.map((s) => [s, argsOf(s)])),
  trainingFlagsInReadme: [...torchrun].sort(),
};
writeFileSync('src/io/longlora-official-args.json', JSON.stringify(out, null, 2) + '\n');
console.log(JSON.stringify(out, null, 2));
