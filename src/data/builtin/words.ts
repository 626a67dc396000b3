// The built-in grammar's word categories (data). Order within a list is frequency rank.

/** Exponent of the within-category Zipf weights. */
export const ZIPF_EXPONENT = 1.0;

/** Singular nouns; "sg:pl" where the plural is irregular. */
export const NOUNS = `
  man:men woman:women child:children dog cat house city teacher friend bird
  car book door tree river road student doctor king queen
  horse garden letter window table farmer boy girl mother father
  village forest mountain ship island soldier painter singer neighbour stranger
  baby lawyer nurse pilot sailor mouse:mice wolf:wolves fox rabbit cow
  duck apple box bottle cup chair bed lamp clock key
  bridge tower church school market shop office kitchen room wall
  boat train bus bicycle hat coat shoe knife:knives leaf:leaves flower
  stone star cloud lake hill field farm party story song
  picture game question idea secret gift map coin ring candle`;

/** Verbs without an object; "base:past" where the past is irregular. */
export const INTRANSITIVE_VERBS = `
  sleep:slept run:ran walk laugh smile sing:sang dance cry wait arrive
  swim:swam fall:fell sit:sat shout work rest travel:travelled listen jump disappear`;

/** Verbs with an object. */
export const TRANSITIVE_VERBS = `
  see:saw like find:found take:took chase watch follow help love visit
  remember carry build:built paint open close keep:kept bring:brought buy:bought sell:sold
  want need meet:met hear:heard know:knew hold:held show push pull forget:forgot`;

export const ADJECTIVES = `
  big small old young good new happy sad little red green blue white black tall short
  quiet warm cold dark bright strange famous clever kind tired hungry busy angry brave
  rich poor beautiful lonely gentle wild heavy empty hidden ancient`;

export const NAMES = 'anna tom maria john lucy peter sara david emma paul nina mark julia sam alice ben clara leo rosa oscar';
export const DETERMINERS_ANY = 'the my their his our your no';
export const DETERMINERS_SG = 'this every one each another'; // plus "a"/"an", handled apart
export const DETERMINERS_PL = 'some two many these three those several few all';
export const SUBJECT_PRONOUNS_SG = 'he she it';
export const SUBJECT_PRONOUNS_PL = 'they we you';
export const OBJECT_PRONOUNS_SG = 'him her it me';
export const OBJECT_PRONOUNS_PL = 'them us';
export const SENTENCE_ADVERBS = 'yesterday sometimes suddenly later meanwhile';
export const PRE_VERB_ADVERBS = 'often never always usually rarely also';
export const POST_VERB_ADVERBS = 'quickly slowly again quietly today together here alone loudly well';
export const DEGREE_ADVERBS = 'very quite really rather too';
export const PREPOSITIONS = 'in on with near from behind under beside without across';
export const CONJUNCTIONS = 'and but because while so when';
export const RELATIVE_PRONOUNS = 'that who which';
