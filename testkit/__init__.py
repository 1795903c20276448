"""What the tests and the benches share: throwaway databases and live servers."""
