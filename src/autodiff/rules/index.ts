// Every VJP rule file, imported for its registration side effect. One line per rule.
import './Add.js';
import './MatMul.js';
import './Mul.js';
import './ReduceSum.js';
