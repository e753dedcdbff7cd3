/** Reading the stage's geometry and the in-call extras (issue 5) from the DOM. */
import type { Page } from '@playwright/test';

export interface Box { x: number; y: number; w: number; h: number; id: string }

/** The stage area's box and every rendered tile's box, in page pixels. */
export async function stageBoxes(page: Page): Promise<{ stage: Box; tiles: Box[] }> {
  return page.evaluate(() => {
    const box = (el: Element, id: string) => {
      const r = el.getBoundingClientRect();
      return { x: r.x, y: r.y, w: r.width, h: r.height, id };
    };
    const area = document.querySelector('[data-testid="stage-area"]')!;
    const tiles = [...area.querySelectorAll<HTMLElement>('[data-testid="tile"]')].map((t) =>
      box(t, `${t.dataset.participant}/${t.dataset.kind}`),
    );
    return { stage: box(area, 'stage'), tiles };
  });
}

/** Problems with a layout: tiles outside the stage, overlapping, or empty. */
export function layoutProblems({ stage, tiles }: { stage: Box; tiles: Box[] }): string[] {
  const eps = 0.5;
  const out: string[] = [];
  for (const t of tiles) {
    if (t.w < 20 || t.h < 20) out.push(`${t.id} too small ${t.w}x${t.h}`);
    if (t.x < stage.x - eps || t.y < stage.y - eps || t.x + t.w > stage.x + stage.w + eps || t.y + t.h > stage.y + stage.h + eps)
      out.push(`${t.id} outside the stage: ${JSON.stringify(t)} vs ${JSON.stringify(stage)}`);
  }
  for (let i = 0; i < tiles.length; i++)
    for (let j = i + 1; j < tiles.length; j++) {
      const a = tiles[i], b = tiles[j];
      const ox = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
      const oy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
      if (ox > eps && oy > eps) out.push(`${a.id} overlaps ${b.id}`);
    }
  return out;
}
