// Validates an OpenAPI document with @apidevtools/swagger-parser (schema and $refs).
import SwaggerParser from "@apidevtools/swagger-parser";

const file = process.argv[2];
try {
  const api = await SwaggerParser.validate(file);
  const paths = Object.keys(api.paths).length;
  console.log(`openapi: ${file} is valid OpenAPI ${api.openapi} (${paths} paths)`);
} catch (err) {
  console.error(`openapi: ${file} is not valid: ${err.message}`);
  process.exit(1);
}
