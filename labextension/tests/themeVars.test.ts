/// <reference types="node" />
/**
 * Every JupyterLab theme variable the panel's styles use exists in both the light and the dark
 * theme of the JupyterLab installed next to this build. A misspelt variable silently falls back
 * (`var(--jp-inverse-ui-font-color0, ...)` gave white text on pale status fills in the dark theme).
 */
import { execFileSync } from 'child_process';
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join } from 'path';

const ROOT = join(__dirname, '..');

/** JupyterLab's application directory (`jupyter lab path`; the venv's bin is on PATH for jlpm). */
let appDir: string | null = null;
function labAppDir(): string {
  if (appDir) {
    return appDir;
  }
  const out = execFileSync('jupyter', ['lab', 'path'], { encoding: 'utf8' });
  const m = /Application directory:\s*(.+)/.exec(out);
  if (!m) {
    throw new Error(`no application directory in 'jupyter lab path':\n${out}`);
  }
  appDir = m[1].trim();
  return appDir;
}

function themeVariables(theme: string): Set<string> {
  const file = join(labAppDir(), 'themes', '@jupyterlab', `theme-${theme}-extension`, 'index.css');
  if (!existsSync(file)) {
    throw new Error(`JupyterLab's ${theme} theme is not at ${file}`);
  }
  return new Set([...readFileSync(file, 'utf8').matchAll(/(--jp-[\w-]+)\s*:/g)].map(m => m[1]));
}

function usedVariables(): Map<string, string> {
  const used = new Map<string, string>(); // variable -> first file using it
  const files = [
    ...readdirSync(join(ROOT, 'style')).filter(f => f.endsWith('.css')).map(f => join('style', f)),
    ...readdirSync(join(ROOT, 'src')).filter(f => /\.tsx?$/.test(f)).map(f => join('src', f))
  ];
  for (const file of files) {
    for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(/var\(\s*(--jp-[\w-]+)/g)) {
      if (!used.has(m[1])) {
        used.set(m[1], file);
      }
    }
  }
  return used;
}

describe('theme variables', () => {
  const used = usedVariables();
  beforeAll(() => void labAppDir(), 30000); // starting `jupyter` takes seconds on a busy machine

  it('are used at all (the scan found the styles)', () => {
    expect(used.size).toBeGreaterThan(10);
  });

  it.each(['light', 'dark'])('all exist in the %s theme', theme => {
    const defined = themeVariables(theme);
    const missing = [...used].filter(([name]) => !defined.has(name)).map(([name, file]) => `${name} (${file})`);
    expect(missing).toEqual([]);
  });
});
