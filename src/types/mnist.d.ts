// The `mnist` package ships no types; drivetrain uses only `set(train, test)` (see src/data/mnist.ts).
declare module 'mnist' {
  const mnist: unknown;
  export default mnist;
}
