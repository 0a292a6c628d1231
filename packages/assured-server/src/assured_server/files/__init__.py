"""Rules shared by both APIs: content types, filenames, expiration, verification."""
