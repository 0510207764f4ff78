// A double-ended queue on a growable ring buffer: push and pop at both ends in O(1), for the
// in-memory engine's lists (an array's shift/unshift are O(n) on long lists).
export class Deque<T> {
  private items: (T | undefined)[] = new Array(4);
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  pushLeft(item: T): void {
    this.grow();
    this.head = (this.head - 1 + this.items.length) % this.items.length;
    this.items[this.head] = item;
    this.count++;
  }

  pushRight(item: T): void {
    this.grow();
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
  }

  popLeft(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return item;
  }

  popRight(): T | undefined {
    if (this.count === 0) return undefined;
    const at = (this.head + this.count - 1) % this.items.length;
    const item = this.items[at];
    this.items[at] = undefined;
    this.count--;
    return item;
  }

  /** The element `i` places from the left, or undefined past either end. */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.count) return undefined;
    return this.items[(this.head + i) % this.items.length];
  }

  /** The elements, left (head) first. */
  toArray(): T[] {
    const out: T[] = new Array(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.items[(this.head + i) % this.items.length]!;
    return out;
  }

  private grow(): void {
    if (this.count < this.items.length) return;
    const items = this.toArray() as (T | undefined)[];
    items.length = this.items.length * 2;
    this.items = items;
    this.head = 0;
  }
}
