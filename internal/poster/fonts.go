package poster

// DejaVuSans returns the embedded DejaVu Sans regular and bold TrueType
// fonts, so other printed documents (the weekly reports) get the same
// Vietnamese glyphs without embedding the files twice. Callers must not
// modify the returned slices.
func DejaVuSans() (regular, bold []byte) { return fontRegular, fontBold }
