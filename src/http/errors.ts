/** The one error body shape of the API: a stable code and a sentence that says what is wrong. */
export interface ErrorBody {
  success: false;
  error: string;
  message: string;
}

export function errorBody(code: string, message: string): ErrorBody {
  return { success: false, error: code, message };
}
