"""Upload links: tokens, states and views of the links that collect files from people."""
