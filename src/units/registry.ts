// The one shape of every component registry (pipelines, transports, WALs, engines): specs
// listed by name in registry order, looked up by name, an unknown name refused with the
// component's own coded error listing the names that exist.

export interface Named {
  readonly name: string;
}

export class Registry<S extends Named> {
  /** Every name, in registry order. */
  readonly names: readonly string[];

  constructor(
    readonly specs: readonly S[],
    private readonly unknown: (name: string, names: readonly string[]) => Error,
  ) {
    this.names = specs.map((s) => s.name);
  }

  /** The spec registered under `name`; an unknown name throws the registry's error. */
  get(name: string): S {
    const spec = this.specs.find((s) => s.name === name);
    if (spec === undefined) throw this.unknown(name, this.names);
    return spec;
  }
}
