// The built-in source's grammar: word categories (words.ts) wired into a weighted graph that
// compiles to the DPFA (automaton.ts). See index.ts for the grammar in one paragraph.

import { AutomatonBuilder, type Automaton, type Category } from './automaton.js';
import {
  ZIPF_EXPONENT, NOUNS, INTRANSITIVE_VERBS, TRANSITIVE_VERBS, ADJECTIVES, NAMES, DETERMINERS_ANY, DETERMINERS_SG, DETERMINERS_PL, SUBJECT_PRONOUNS_SG, SUBJECT_PRONOUNS_PL, OBJECT_PRONOUNS_SG, OBJECT_PRONOUNS_PL, SENTENCE_ADVERBS, PRE_VERB_ADVERBS, POST_VERB_ADVERBS, DEGREE_ADVERBS, PREPOSITIONS, CONJUNCTIONS, RELATIVE_PRONOUNS,
} from './words.js';

type Num = 'sg' | 'pl';

const list = (s: string): string[] => s.trim().split(/\s+/);

/** A category with Zipf weights by list order. */
function zipf(words: readonly string[]): { word: string; weight: number }[] {
  return words.map((word, r) => ({ word, weight: 1 / Math.pow(r + 1, ZIPF_EXPONENT) }));
}

function pluralOf(w: string): string {
  if (/(s|x|ch|sh)$/.test(w)) return w + 'es';
  if (/[^aeiou]y$/.test(w)) return w.slice(0, -1) + 'ies';
  return w + 's';
}

function thirdPersonOf(v: string): string {
  if (/(s|x|ch|sh|o)$/.test(v)) return v + 'es';
  if (/[^aeiou]y$/.test(v)) return v.slice(0, -1) + 'ies';
  return v + 's';
}

function pastOf(v: string): string {
  if (v.endsWith('e')) return v + 'd';
  if (/[^aeiou]y$/.test(v)) return v.slice(0, -1) + 'ied';
  return v + 'ed';
}

/** "a" or "an" by first letter (enough for this vocabulary: no silent h, no "you"-sounding u). */
const takesAn = (w: string): boolean => /^[aeiou]/.test(w);

interface Lexicon {
  nouns: Record<Num, Category>;
  adjectives: Category;
  /** Verb forms agreeing with a subject of each number: present (weight 0.6) and past (0.4). */
  intransitive: Record<Num, Category>;
  transitive: Record<Num, Category>;
  copula: Record<Num, Category>;
}

function lexicon(): Lexicon {
  const nouns = list(NOUNS).map((n) => n.split(':'));
  const verbs = (src: string): Record<Num, Category> => {
    const vs = list(src).map((v) => {
      const [base, past] = v.split(':') as [string, string | undefined];
      return { base, sg: thirdPersonOf(base), past: past ?? pastOf(base) };
    });
    const forms = (n: Num): Category =>
      vs.flatMap((v, r) => {
        const z = 1 / Math.pow(r + 1, ZIPF_EXPONENT);
        return [{ word: n === 'sg' ? v.sg : v.base, weight: 0.6 * z }, { word: v.past, weight: 0.4 * z }];
      });
    return { sg: forms('sg'), pl: forms('pl') };
  };
  return {
    nouns: {
      sg: zipf(nouns.map(([s]) => s!)),
      pl: zipf(nouns.map(([s, p]) => p ?? pluralOf(s!))),
    },
    adjectives: zipf(list(ADJECTIVES)),
    intransitive: verbs(INTRANSITIVE_VERBS),
    transitive: verbs(TRANSITIVE_VERBS),
    copula: {
      sg: [{ word: 'is', weight: 0.6 }, { word: 'was', weight: 0.4 }],
      pl: [{ word: 'are', weight: 0.6 }, { word: 'were', weight: 0.4 }],
    },
  };
}

/** Memoises a per-number state maker, so each continuation is built at most once per number. */
function perNumber(make: (n: Num) => number): (n: Num) => number {
  const made = new Map<Num, number>();
  return (n) => {
    let s = made.get(n);
    if (s === undefined) made.set(n, (s = make(n)));
    return s;
  };
}

type Role = 'subject' | 'object';

class Grammar {
  /** Noun phrases built so far, by role, continuations and modifiers: equal ones are shared. */
  private readonly nounPhrases = new Map<string, number>();

  constructor(
    private readonly b: AutomatonBuilder,
    private readonly lex: Lexicon,
  ) {}

  /** from: [sentence adverb] subject predicate -> to. */
  clause(from: number, to: number, label: string): void {
    const { b } = this;
    const subject = b.state(`${label}: subject`);
    b.category(from, zipf(list(SENTENCE_ADVERBS)), 0.06, subject);
    b.eps(from, subject, 0.94);
    const predicate = perNumber((n) => {
      const s = b.state(`${label}: predicate ${n}`);
      this.verbPhrase(s, n, to, true, `${label}: predicate ${n}`);
      return s;
    });
    b.eps(subject, this.nounPhrase('subject', predicate, true, `${label}: subject`), 1);
  }

  /**
   * The start state of a noun phrase that continues at cont(its number); withMods allows a
   * relative clause or PP after the noun. Built once per (role, continuations, withMods).
   */
  nounPhrase(role: Role, cont: (n: Num) => number, withMods: boolean, label: string): number {
    const key = `${role} ${cont('sg')} ${cont('pl')} ${withMods}`;
    const known = this.nounPhrases.get(key);
    if (known !== undefined) return known;
    const { b } = this;
    const from = b.state(label);
    this.nounPhrases.set(key, from);
    const head = withMods
      ? perNumber((n) => {
          const s = b.state(`${label} head ${n}`);
          this.modifiers(s, n, cont(n), `${label} head ${n}`);
          return s;
        })
      : cont;
    if (role === 'subject') {
      b.category(from, zipf(list(SUBJECT_PRONOUNS_SG)), 0.06, cont('sg'));
      b.category(from, zipf(list(SUBJECT_PRONOUNS_PL)), 0.04, cont('pl'));
    } else {
      b.category(from, zipf(list(OBJECT_PRONOUNS_SG)), 0.06, cont('sg'));
      b.category(from, zipf(list(OBJECT_PRONOUNS_PL)), 0.03, cont('pl'));
    }
    b.category(from, zipf(list(NAMES)), 0.07, head('sg'));
    const all = (): boolean => true;
    b.category(from, zipf(list(DETERMINERS_ANY)), 0.4, this.prenominal('any', head, all, `${label} the`));
    b.word(from, 'a', 0.17, this.prenominal('sg', head, (w) => !takesAn(w), `${label} a`));
    b.word(from, 'an', 0.03, this.prenominal('sg', head, takesAn, `${label} an`));
    b.category(from, zipf(list(DETERMINERS_SG)), 0.06, this.prenominal('sg', head, all, `${label} this`));
    b.category(from, zipf(list(DETERMINERS_PL)), 0.1, this.prenominal('pl', head, all, `${label} some`));
    return from;
  }

  /**
   * After a determiner: up to two adjectives, then a noun of an allowed number. `first` filters
   * the word right after the determiner ("a"/"an"); the states after an adjective are shared by
   * all determiners with the same number and head.
   */
  prenominal(x: Num | 'any', head: (n: Num) => number, first: (w: string) => boolean, label: string): number {
    const s = this.b.state(`${label} +0 adj`);
    this.adjectivesThenNoun(s, x, head, 0, first);
    return s;
  }

  /** Probability of another adjective after k adjectives. */
  private static readonly ADJECTIVE_WEIGHT = [0.28, 0.12, 0];

  private adjectivesThenNoun(s: number, x: Num | 'any', head: (n: Num) => number, k: number, first: (w: string) => boolean): void {
    const { b, lex } = this;
    const keep = (c: Category): Category => c.filter((e) => first(e.word));
    const adjWeight = Grammar.ADJECTIVE_WEIGHT[k]!;
    if (adjWeight > 0) b.category(s, keep(lex.adjectives), adjWeight, this.afterAdjective(x, head, k + 1));
    const nounWeight = 1 - adjWeight;
    if (x !== 'pl') b.category(s, keep(lex.nouns.sg), x === 'any' ? 0.65 * nounWeight : nounWeight, head('sg'));
    if (x !== 'sg') b.category(s, keep(lex.nouns.pl), x === 'any' ? 0.35 * nounWeight : nounWeight, head('pl'));
  }

  private readonly afterAdjectives = new Map<string, number>();

  /** The state after k >= 1 adjectives, shared per (number, head, k). */
  private afterAdjective(x: Num | 'any', head: (n: Num) => number, k: number): number {
    const key = `${x} ${head('sg')} ${head('pl')} ${k}`;
    let s = this.afterAdjectives.get(key);
    if (s === undefined) {
      s = this.b.state(`${x} noun phrase +${k} adj`);
      this.afterAdjectives.set(key, s);
      this.adjectivesThenNoun(s, x, head, k, () => true);
    }
    return s;
  }

  /** Optional relative clause or prepositional phrase after a noun, then `next`. */
  modifiers(s: number, n: Num, next: number, label: string): void {
    const { b } = this;
    b.eps(s, next, 0.78);
    const rel = b.state(`${label} relative`);
    b.category(s, zipf(list(RELATIVE_PRONOUNS)), 0.1, rel);
    this.verbPhrase(rel, n, next, false, `${label} relative`);
    b.category(s, zipf(list(PREPOSITIONS)), 0.12, this.nounPhrase('object', () => next, false, `${label} pp`));
  }

  /** [pre-verb adverb] verb agreeing with n, then its complement, then `to`. */
  verbPhrase(from: number, n: Num, to: number, objectMods: boolean, label: string): void {
    const { b, lex } = this;
    const verb = b.state(`${label} verb`);
    b.category(from, zipf(list(PRE_VERB_ADVERBS)), 0.08, verb);
    b.eps(from, verb, 0.92);

    const intr = b.state(`${label} intransitive`);
    b.category(verb, lex.intransitive[n], 0.36, intr);
    b.category(intr, zipf(list(POST_VERB_ADVERBS)), 0.25, to);
    b.category(intr, zipf(list(PREPOSITIONS)), 0.3, this.nounPhrase('object', () => to, false, `${label} pp`));
    b.eps(intr, to, 0.45);

    b.category(verb, lex.transitive[n], 0.5, this.nounPhrase('object', () => to, objectMods, `${label} object`));

    const cop = b.state(`${label} copula`);
    b.category(verb, lex.copula[n], 0.14, cop);
    const adj = b.state(`${label} copula adjective`);
    b.category(cop, zipf(list(DEGREE_ADVERBS)), 0.2, adj);
    b.eps(cop, adj, 0.5);
    b.category(adj, lex.adjectives, 1, to);
    b.category(cop, zipf(list(PREPOSITIONS)), 0.3, this.nounPhrase('object', () => to, false, `${label} pp`));
  }
}

/** sentence = clause (conjunction clause)*: after each clause, END (0.78) or a conjunction and another. */
export function buildSource(): Automaton {
  const b = new AutomatonBuilder();
  const g = new Grammar(b, lexicon());
  const start = b.state('sentence');
  const afterClause = b.state('after clause');
  b.end(afterClause, 0.78);
  b.category(afterClause, zipf(list(CONJUNCTIONS)), 0.22, start);
  g.clause(start, afterClause, 'clause');
  return b.compile(start);
}
