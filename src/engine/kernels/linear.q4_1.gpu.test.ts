import { quantLinearSuite } from '../../test/linear-quant-check.ts';

quantLinearSuite('Q4_1');
