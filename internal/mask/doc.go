// Package mask finds secret values, and the common encodings of them, in
// bytes: the one matching automaton behind `wsx exec`'s output masking
// (Writer, Mask) and behind scanning files for pasted secrets (Find).
//
// New compiles every value of at least MinMaskLen bytes, each line of
// multi-line values and the usual encodings (base64 at every alignment,
// hex, URL and JSON escaping) into one Aho–Corasick automaton, remembering
// for each pattern the value and the Form it stands for. The automaton
// reads a view of the input without SGR colour sequences and without the
// line breaks that end lines of 60, 64 or 76 base64 or hex characters, so
// a coloured value and a wrapped encoding still match; matches are given
// in input offsets. A pattern the view cannot show because decoration
// bytes are part of it or of its edges (a value printed as the parameters
// of an SGR sequence, or one with SGR sequences in it) is found by the same
// automaton reading the input as it is from each decoration on, for as
// long as a pattern begun there may still match: every pattern printed
// byte for byte is masked, whatever surrounds it. A pattern with SGR
// sequences in it is also searched for without them when that leaves
// MinMaskLen bytes or more. Between matches the automaton rests in its
// root state and jumps over text no pattern can start in, a window of the
// shortest pattern's length at a time (Wu–Manber shifts over 4-byte
// blocks).
//
// A Writer streams through it: it passes bytes on as soon as no value can
// cover them and holds back at most the longest pattern minus one byte (plus
// decorations). A held possible beginning of a value of at most MaxShown
// bytes goes out FlushDelay after the last write, so prompts show; a longer
// one waits for the byte that completes the value (masked) or rules it out
// (passed on), or for Close. Overlapping matches are masked as their union,
// with one Marker; a value's final line break is left in place.
//
// Not found: a value split between two streams (stdout and stderr), in
// UTF-16, reversed, or in an encoding other than those above.
package mask
